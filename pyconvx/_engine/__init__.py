"""pyconvx's engine: the planner, the typed plan contract and the compiled code.

Layers, one way::

    plan.py      decides: algorithm, microkernel, tiling, workspace (Python)
    layout.py    the band and per-thread scratch layouts (the arithmetic, once)
    contract     the typed plan record (DirectPlan), enums, the microkernel ABI
    direct       runs a DirectPlan over its work units (nogil, OpenMP)
    stage        what direct copies first: input bands, repacked weights
    unfold       im2col / col2im
    pooling      max / average pooling planes
    cpu          CPU facts and the FMA peak probe
    openmp_env   how the OpenMP runtime's idle threads wait (set as it loads)
    dispatch.py  which SIMD microkernel set a call uses
    fft.py       the FFT path (numpy.fft)
    src/         the SIMD microkernels (C), one template compiled per ISA

Nothing here validates user input: ``pyconvx``'s public modules do that.
"""

from .openmp_env import bounded_spin_while_loading

with bounded_spin_while_loading():
    # cpu is the first compiled module that links the OpenMP runtime
    from . import cpu  # noqa: F401
