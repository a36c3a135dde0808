"""Coverage-guided fuzzing of argument parsing with atheris: bytes -> arguments.

``one_input(data)`` decodes a byte string into the arguments of one call of
``pyconvx.output_shape``, ``pyconvx.plan`` or ``pyconvx.conv`` (shapes with
sizes from 0 to 2**64 and negative ones, every padding spelling, strides,
dilations, groups, modes, algorithms, thread counts, dtypes, and objects of
the wrong type) and makes the call.  Only TypeError, ValueError and
MemoryError may come out; anything else propagates, which atheris reports
as a crash with the input that caused it.

``conv`` runs on zero-stride arrays, and only for problems of at most 4096
input, weight and output elements (larger ones are checked through
``output_shape`` and ``plan``, which allocate nothing); ``plan`` only takes
kernels of at most 4096 taps per dimension, because its planning time grows
with the kernel's size.

Run it (atheris needs its own wheel; ``pip install atheris``)::

    python -m fuzz.atheris_args -max_total_time=300

The decoder itself needs no atheris: the smoke test feeds it random bytes.
"""

import inspect
import math
import sys

import numpy as np

from . import REPO_ROOT  # noqa: F401  (imports pyconvx the way the fuzzer does)

ALLOWED = (TypeError, ValueError, MemoryError)

EDGE_INTS = (0, 1, 2, 3, -1, -2, 2**31 - 1, 2**31, 2**32, 2**36, 2**40, 2**62 - 1, 2**62,
             2**63 - 1, 2**63, 2**64, -2**63)
ODD_OBJECTS = (None, 1.5, "3", b"3", True, (), [], complex(1, 1), float("nan"), object(),
               np.float64(2.0), np.int64(2), np.array([1, 2]), np.array(2))
STRINGS = ("valid", "same", "full", "zeros", "reflect", "replicate", "circular", "auto",
           "direct", "gemm", "row", "rowblock", "depthwise", "winograd", "fft", "", "SAME",
           "bogus")
DTYPES = ("float32", "float64", "int8", "uint8", "int32", "int64", "bool", "float16",
          "complex64", ">f4", ">f8")

#: Largest input, weight or output (in elements) that ``conv`` is called on.
CONV_ELEMENTS = 4096
#: Largest kernel size per dimension that ``plan`` is called on.
PLAN_KERNEL = 4096


class Reader:
    """Draws small decisions from a byte string; past its end every draw is 0."""

    def __init__(self, data):
        self.data = bytes(data)
        self.position = 0

    def byte(self):
        if self.position >= len(self.data):
            return 0
        self.position += 1
        return self.data[self.position - 1]

    def choice(self, options):
        return options[self.byte() % len(options)]

    def integer(self):
        """Mostly small sizes; sometimes an edge value."""
        b = self.byte()
        if b < 192:
            return b % 8
        return EDGE_INTS[b % len(EDGE_INTS)]

    def int_or_tuple(self, ndim):
        kind = self.byte() % 8
        if kind < 4:
            return self.integer()
        if kind < 7:
            return tuple(self.integer() for _ in range(ndim if kind < 6 else self.byte() % 5))
        return self.choice(ODD_OBJECTS)

    def padding(self, ndim):
        kind = self.byte() % 10
        if kind < 3:
            return self.integer()
        if kind < 5:
            return self.choice(STRINGS)
        if kind < 7:
            return tuple(self.integer() for _ in range(ndim))
        if kind < 9:
            return tuple((self.integer(), self.integer()) if self.byte() % 2 else self.integer()
                         for _ in range(ndim if kind == 7 else self.byte() % 5))
        return self.choice(ODD_OBJECTS)

    def shape(self):
        return tuple(self.integer() for _ in range(self.byte() % 7))


def decode(data):
    """``(function name, positional arguments, keyword arguments)`` from ``data``."""
    read = Reader(data)
    function = read.choice(("output_shape", "plan", "conv"))
    x_shape, w_shape = read.shape(), read.shape()
    ndim = max(len(w_shape) - 2, 1)
    kwargs = {
        "stride": read.int_or_tuple(ndim),
        "padding": read.padding(ndim),
        "dilation": read.int_or_tuple(ndim),
        "groups": read.integer() if read.byte() % 8 else read.choice(ODD_OBJECTS),
        "padding_mode": read.choice(STRINGS) if read.byte() % 8 else read.choice(ODD_OBJECTS),
    }
    if function != "output_shape":
        kwargs["flip"] = read.choice((False, True, False, 1, None))
        kwargs["threads"] = read.choice((None, 1, 2, 3, 4, 0, -1, 2**40, 1.5))
        kwargs["algorithm"] = read.choice(STRINGS) if read.byte() % 8 else read.choice(
            ODD_OBJECTS)
    if function == "plan":
        kwargs["dtype"] = read.choice((None,) + DTYPES)
    dtype = read.choice(DTYPES)
    return function, (x_shape, w_shape), kwargs, dtype


def _small(shape):
    return all(isinstance(s, int) and 0 <= s for s in shape) and math.prod(shape) <= CONV_ELEMENTS


def one_input(data):
    """Decode ``data`` and make the call; only the documented exception types may escape it."""
    import pyconvx

    function, (x_shape, w_shape), kwargs, dtype = decode(data)
    try:
        if function == "output_shape":
            pyconvx.output_shape(x_shape, w_shape, **kwargs)
        elif function == "plan":
            if all(isinstance(k, int) and k <= PLAN_KERNEL for k in w_shape[2:]):
                pyconvx.plan(x_shape, w_shape, **kwargs)
        elif _small(x_shape) and _small(w_shape):
            out = pyconvx.output_shape(x_shape, w_shape, **{
                k: v for k, v in kwargs.items() if k in ("stride", "padding", "dilation",
                                                         "groups", "padding_mode")})
            if math.prod(out) <= CONV_ELEMENTS:
                x = np.broadcast_to(np.ones((), dtype=dtype), x_shape)
                w = np.broadcast_to(np.ones((), dtype=dtype), w_shape)
                pyconvx.conv(x, w, **kwargs)
    except ALLOWED:
        pass


def _pyconvx_functions():
    """Every Python function and method defined in the loaded pyconvx modules."""
    for name, module in list(sys.modules.items()):
        if name != "pyconvx" and not name.startswith("pyconvx."):
            continue
        for item in vars(module).values():
            if getattr(item, "__module__", None) != name:
                continue
            if inspect.isfunction(item):
                yield item
            elif inspect.isclass(item):
                yield from (m for m in vars(item).values() if inspect.isfunction(m))


def main(argv=None):
    import atheris

    # pyconvx is already imported (by the fuzz package): instrument its Python
    # functions, the argument handling, for coverage (the compiled code is not)
    for function in _pyconvx_functions():
        atheris.instrument_func(function)
    atheris.Setup(sys.argv if argv is None else argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
