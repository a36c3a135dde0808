"""The process environment the measurements run in, set before anything loads.

Some libraries read an environment variable once, when they are loaded, so the
variable has to be right before the first import of NumPy, pyconvx or torch:

* ``OPENBLAS_CORETYPE`` (set in some environments) forces the OpenBLAS inside
  NumPy and SciPy onto the kernels of another core type; it is removed.
* ``GOMP_SPINCOUNT`` bounds how long idle OpenMP workers spin after a parallel
  region (libgomp's default: milliseconds).  pyconvx and torch share one
  OpenMP runtime (torch's bundled libgomp has the system's name: the library
  imported first loads it for both), which reads the value once, when it
  loads; pyconvx alone would bound it at 1000 (see ``pyconvx.show_config``),
  the harness sets 20000 for both sides whatever the import order.  A value
  the user set is kept.
* ``--isa avx2`` caps both libraries at their AVX2 code: pyconvx through
  ``PYCONVX_SIMD``, torch's oneDNN through ``ONEDNN_MAX_CPU_ISA``, its own
  vectorised kernels through ``ATEN_CPU_CAPABILITY`` and its BLAS (MKL, which
  runs the float64 convolutions) through ``MKL_ENABLE_INSTRUCTIONS``.

:func:`prepare` puts the environment right: in place when nothing that reads
it is loaded yet (the scripts in ``bench/``), else by re-executing the command
(``pyconvx bench``, which has loaded pyconvx and NumPy by the time it runs).
This module imports nothing but the standard library.
"""

import os
import sys

from . import HarnessError

__all__ = [
    "ISA_SWITCHES",
    "REPORTED_VARIABLES",
    "child_environment",
    "measuring_environment",
    "openblas_coretype_warning",
    "prepare",
    "switches",
]

#: Set in a re-executed process, so that it never re-executes again.
REEXEC_MARK = "PYCONVX_BENCH_REEXEC"

#: Variables removed from the measuring environment.
REMOVED = ("OPENBLAS_CORETYPE",)

#: Variables set unless the user set them.
DEFAULTS = {"GOMP_SPINCOUNT": "20000"}

#: ``--isa`` name -> the variables that cap pyconvx and torch at that level.
ISA_SWITCHES = {
    "avx2": {
        "PYCONVX_SIMD": "avx2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "ATEN_CPU_CAPABILITY": "avx2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    },
}

#: Variables that change what is measured; reported in headers and JSON.
REPORTED_VARIABLES = (
    "OMP_NUM_THREADS",
    "GOMP_SPINCOUNT",
    "OPENBLAS_CORETYPE",
    "PYCONVX_SIMD",
    "ONEDNN_MAX_CPU_ISA",
    "ATEN_CPU_CAPABILITY",
    "MKL_ENABLE_INSTRUCTIONS",
)

#: Modules that read the environment when they are loaded.
_READERS = ("numpy", "pyconvx", "torch", "scipy", "cv2")


class EnvironmentNotApplied(HarnessError):
    """The measuring environment was needed but could not be put in place."""


def measuring_environment(environ=None, isa=None):
    """``environ`` (default ``os.environ``) as the measurements need it.

    Parameters
    ----------
    environ : mapping, optional
        The starting environment.
    isa : str, optional
        A key of :data:`ISA_SWITCHES`, or None for the machine's own level.

    Returns
    -------
    dict

    Examples
    --------
    >>> env = measuring_environment({"OPENBLAS_CORETYPE": "Haswell"}, isa="avx2")
    >>> "OPENBLAS_CORETYPE" in env, env["GOMP_SPINCOUNT"], env["PYCONVX_SIMD"]
    (False, '20000', 'avx2')
    """
    env = dict(os.environ if environ is None else environ)
    for name in REMOVED:
        env.pop(name, None)
    for name, value in DEFAULTS.items():
        env.setdefault(name, value)
    if isa is not None:
        env.update(ISA_SWITCHES[isa])
    return env


def _relaunch_arguments():
    """The interpreter arguments that rerun this command, or None.

    ``python -m pyconvx ...`` runs ``pyconvx/__main__.py``; the ``pyconvx``
    console script and the scripts in ``bench/`` are files the interpreter
    can run again; ``python -c`` and an interactive session cannot be rerun.
    """
    argv0 = sys.argv[0] if sys.argv else ""
    if (os.path.basename(argv0) == "__main__.py"
            and os.path.basename(os.path.dirname(argv0)) == "pyconvx"):
        return ["-m", "pyconvx"] + sys.argv[1:]
    if argv0 in ("", "-c", "-m") or not os.path.isfile(argv0):
        return None
    return [argv0] + sys.argv[1:]


def prepare(isa=None, reexec=True):
    """Run the rest of this process in :func:`measuring_environment`.

    Updates ``os.environ`` in place when none of NumPy, pyconvx, torch, SciPy
    or OpenCV is loaded yet; otherwise re-executes the command in the right
    environment (and does not return).  A process that may not or cannot be
    re-executed (``reexec=False``, ``python -c``, or one that already was) goes
    on as it is and gets the names of the variables that are not as measuring
    needs them, unless ``isa`` asks for a cap that is not in force: then
    :class:`EnvironmentNotApplied`.

    Parameters
    ----------
    isa : str, optional
        A key of :data:`ISA_SWITCHES`.
    reexec : bool, optional
        Whether the process may be re-executed.

    Returns
    -------
    list of str
        The variables left as they were (empty when the environment is right).
    """
    target = measuring_environment(isa=isa)
    if target == dict(os.environ):
        return []
    if not any(name in sys.modules for name in _READERS):
        os.environ.clear()
        os.environ.update(target)
        return []
    arguments = None
    if reexec and not os.environ.get(REEXEC_MARK):
        arguments = _relaunch_arguments()
    if arguments is None:
        missing = {name: value for name, value in ISA_SWITCHES.get(isa, {}).items()
                   if os.environ.get(name) != value}
        if missing:
            settings = " ".join(f"{name}={value}" for name, value in missing.items())
            raise EnvironmentNotApplied(
                f"--isa {isa} needs {settings} before pyconvx and torch load, and this "
                "process cannot be re-executed; set them in the environment and run again")
        return sorted(name for name in set(target) | set(os.environ)
                      if target.get(name) != os.environ.get(name))
    target[REEXEC_MARK] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable] + arguments, target)
    raise AssertionError("os.execve returned")  # it replaces the process or raises OSError


def child_environment(module_files):
    """The measuring environment for a fresh Python process.

    Parameters
    ----------
    module_files : iterable of str
        ``__file__`` of packages the child must import exactly as this process
        did (pyconvx, pyconvx_bench): their parent folders go first on
        ``PYTHONPATH``.

    Returns
    -------
    dict
    """
    env = measuring_environment()
    roots = []
    for path in module_files:
        root = os.path.dirname(os.path.dirname(os.path.abspath(path)))
        if root not in roots:
            roots.append(root)
    env["PYTHONPATH"] = os.pathsep.join(roots + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def switches():
    """The :data:`REPORTED_VARIABLES` as set in this process (None: unset).

    Examples
    --------
    >>> sorted(switches())[:2]
    ['ATEN_CPU_CAPABILITY', 'GOMP_SPINCOUNT']
    """
    return {name: os.environ.get(name) for name in REPORTED_VARIABLES}


def openblas_coretype_warning():
    """A warning line if OPENBLAS_CORETYPE is set in this process, else None."""
    value = os.environ.get("OPENBLAS_CORETYPE")
    if value is None:
        return None
    return (f"warning: OPENBLAS_CORETYPE={value} is set: NumPy's and SciPy's OpenBLAS "
            "run the kernels of that core type, which slows some peers; it is read "
            "when NumPy loads, so run the command again with `env -u OPENBLAS_CORETYPE`")
