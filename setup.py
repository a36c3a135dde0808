"""Build of pyconvx's compiled core.

* Every ``pyconvx/*.pyx`` is one extension, compiled with -O3 and the house
  Cython directives (bounds/wraparound checks off; PYCONVX_DEBUG=1 turns the
  checks back on for a debug build).
* OpenMP is probed: when the compiler cannot build an OpenMP program (or
  PYCONVX_NO_OPENMP=1) the core is built without it and runs single-threaded.
* The microkernels in ``pyconvx/_src`` are one source compiled once per
  instruction set with that set's own target flags (no host-specific "native"
  tuning, no fast-math: IEEE semantics and the process's denormal handling are
  left alone); ``pcx_dispatch.c`` picks a set at run time.  A set the
  compiler cannot target is left out (PYCONVX_MAX_SIMD=generic|avx2 caps it).
"""

import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
SRC = Path("pyconvx") / "_src"
BASE_FLAGS = ["-O3", "-ffp-contract=fast"]
ISA_FLAGS = {
    "avx2": ["-mavx2", "-mfma"],
    "avx512": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma"],
}
ISA_ORDER = ["generic", "avx2", "avx512"]


def _compiles(compiler, code, flags, link=False):
    """Whether ``compiler`` builds ``code`` with ``flags`` (and links, if asked)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "probe.c"
        source.write_text(code)
        try:
            objects = compiler.compile([str(source)], output_dir=tmp, extra_postargs=flags)
            if link:
                compiler.link_executable(objects, "probe", output_dir=tmp, extra_postargs=flags)
        except Exception:  # any compiler or linker failure means "no"
            return False
    return True


OPENMP_PROBE = """
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel num_threads(2) reduction(+:n)
    n += omp_get_num_threads() > 0;
    return n > 0 ? 0 : 1;
}
"""

ISA_PROBE = """
#include <immintrin.h>
__m256 f(__m256 a) { return _mm256_fmadd_ps(a, a, a); }
"""
AVX512_PROBE = """
#include <immintrin.h>
__m512 f(__m512 a) { return _mm512_fmadd_ps(a, a, a); }
"""


class BuildExt(build_ext):
    """build_ext that probes OpenMP and compiles the per-ISA kernel objects."""

    def build_extensions(self):
        compiler = self.compiler
        is_unix = compiler.compiler_type == "unix"
        openmp_flags = []
        if os.environ.get("PYCONVX_NO_OPENMP", "0") != "1" and is_unix:
            if _compiles(compiler, OPENMP_PROBE, ["-fopenmp"], link=True):
                openmp_flags = ["-fopenmp"]
        print(f"pyconvx build: OpenMP {'on' if openmp_flags else 'off'}")

        levels = ["generic"]
        machine = platform.machine().lower()
        cap = os.environ.get("PYCONVX_MAX_SIMD", "avx512")
        if is_unix and machine in ("x86_64", "amd64", "i686", "i386"):
            if ISA_ORDER.index(cap) >= 1 and _compiles(compiler, ISA_PROBE, ISA_FLAGS["avx2"]):
                levels.append("avx2")
            if ISA_ORDER.index(cap) >= 2 and _compiles(
                compiler, AVX512_PROBE, ISA_FLAGS["avx512"]
            ):
                levels.append("avx512")
        print(f"pyconvx build: kernel sets {', '.join(levels)}")

        base = BASE_FLAGS if is_unix else []
        for ext in self.extensions:
            ext.extra_compile_args = list(ext.extra_compile_args) + base + openmp_flags
            ext.extra_link_args = list(ext.extra_link_args) + openmp_flags
            if ext.name == "pyconvx._core":
                objects = []
                for level in levels:
                    source = str(SRC / f"pcx_kernels_{level}.c")
                    flags = base + ISA_FLAGS.get(level, [])
                    objects += compiler.compile(
                        [source],
                        output_dir=self.build_temp,
                        include_dirs=[str(SRC)],
                        extra_postargs=flags,
                        depends=[str(p) for p in SRC.glob("*.h")],
                    )
                    if level != "generic":
                        ext.define_macros.append((f"PCX_HAVE_{level.upper()}", "1"))
                ext.extra_objects = objects + list(ext.extra_objects)
        super().build_extensions()


def extensions():
    debug = os.environ.get("PYCONVX_DEBUG", "0") == "1"
    directives = {
        "language_level": 3,
        "boundscheck": debug,
        "wraparound": debug,
        "initializedcheck": debug,
        "cdivision": not debug,
        "embedsignature": True,
    }
    result = []
    for pyx in sorted(Path("pyconvx").glob("*.pyx")):
        name = "pyconvx." + pyx.stem
        sources = [str(pyx)]
        if pyx.stem == "_core":
            sources.append(str(SRC / "pcx_dispatch.c"))
        result.append(
            Extension(
                name,
                sources,
                include_dirs=[np.get_include(), str(SRC)],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
                depends=[str(p) for p in SRC.glob("*")],
            )
        )
    return cythonize(result, compiler_directives=directives, quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
