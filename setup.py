"""Build of pyconvx's compiled engine (``pyconvx/_engine``) and its C API.

* Every ``pyconvx/_engine/*.pyx`` is one extension, and so is the C API,
  ``pyconvx/capi.pyx``; all are compiled with -O3 (unless CFLAGS names an -O
  level) and the house Cython directives (bounds/wraparound checks off;
  PYCONVX_DEBUG=1 turns the checks back on for a debug build).
* OpenMP is probed: when the compiler cannot build and link an OpenMP program
  (or PYCONVX_NO_OPENMP=1) the engine is built without it and runs
  single-threaded.
* The microkernels in ``pyconvx/_engine/src`` are one template compiled once
  per instruction set with that set's own target flags (no host-specific
  "native" tuning, no fast-math: IEEE semantics and the process's denormal
  handling are left alone) and linked into ``pyconvx._engine.contract`` only;
  ``src/dispatch.c`` picks a set at run time.  A set the compiler cannot
  target is left out (PYCONVX_MAX_SIMD=generic|avx2 caps it).
"""

import os
import platform
import shlex
import tempfile
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ENGINE = Path("pyconvx") / "_engine"
SRC = ENGINE / "src"
BASE_FLAGS = ["-O3", "-ffp-contract=fast"]
ISA_FLAGS = {
    "avx2": ["-mavx2", "-mfma"],
    "avx512": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma"],
}
ISA_ORDER = ["generic", "avx2", "avx512"]
#: The extension the microkernel sets are linked into.
UKERNEL_HOST = "pyconvx._engine.contract"


def _compiles(compiler, code, flags, link=False):
    """Whether ``compiler`` builds ``code`` with ``flags`` (and links, if asked).

    The compiler already carries the environment's CFLAGS; the link of an
    executable carries neither them nor LDFLAGS (the extensions' link carries
    both), so both are added: a sanitizer build (-fsanitize in CFLAGS, and
    usually in LDFLAGS too) must probe OpenMP with its runtime linked in.
    """
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "probe.c"
        source.write_text(code)
        try:
            objects = compiler.compile([str(source)], output_dir=tmp, extra_postargs=flags)
            if link:
                ldflags = shlex.split(os.environ.get("CFLAGS", "")) + shlex.split(
                    os.environ.get("LDFLAGS", ""))
                compiler.link_executable(objects, "probe", output_dir=tmp,
                                         extra_postargs=flags + ldflags)
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
    """build_ext that probes OpenMP and compiles the per-ISA microkernel objects."""

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
        print(f"pyconvx build: microkernel sets {', '.join(levels)}")

        base = BASE_FLAGS if is_unix else []
        if any(flag.startswith("-O") for flag in shlex.split(os.environ.get("CFLAGS", ""))):
            # an optimisation level chosen in CFLAGS (a sanitizer build's -O1) wins
            base = [flag for flag in base if not flag.startswith("-O")]
        headers = [str(p) for p in SRC.rglob("*.h")]
        for ext in self.extensions:
            ext.extra_compile_args = list(ext.extra_compile_args) + base + openmp_flags
            ext.extra_link_args = list(ext.extra_link_args) + openmp_flags
            if ext.name == UKERNEL_HOST:
                objects = []
                for level in levels:
                    objects += compiler.compile(
                        [str(SRC / "sets" / f"{level}.c")],
                        output_dir=self.build_temp,
                        include_dirs=[str(SRC)],
                        extra_postargs=base + ISA_FLAGS.get(level, []),
                        depends=headers,
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
    # the engine, and the C API other compiled extensions cimport (pyconvx/capi.pxd)
    for pyx in sorted(ENGINE.glob("*.pyx")) + [Path("pyconvx") / "capi.pyx"]:
        name = ".".join(pyx.with_suffix("").parts)
        sources = [str(pyx)]
        if name == UKERNEL_HOST:
            sources.append(str(SRC / "dispatch.c"))
        result.append(
            Extension(
                name,
                sources,
                include_dirs=[np.get_include(), str(SRC)],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
                depends=[str(p) for p in SRC.rglob("*") if p.is_file()]
                + [str(p) for p in ENGINE.glob("*.pxd")],
            )
        )
    # the generated C goes to build/, never next to the sources
    return cythonize(result, compiler_directives=directives, quiet=True,
                     build_dir=str(Path("build") / "cython"))


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
