"""Targets ``invalid.*``: every public function on wrong arguments.

Each function has a small valid base call; a case replaces one to three of
its arguments with values from the pool of that argument's kind: wrong
types (None, strings, bytes, floats, bools, complex, NumPy scalars and
arrays, arbitrary objects), negative and zero sizes, huge values (2**36,
2**40, 2**62, 2**63, 2**64), wrong lengths and ranks, mismatched channels,
unsupported dtypes, bad ``out=`` arrays, and zero-stride arrays whose
shapes reach 2**62 elements.  Only the outcome's type is checked: the call
returns, or raises TypeError, ValueError or MemoryError; any other
exception is a finding, and so is a crash or a hang (caught by the pool).

A replaced argument may still be a valid one (``stride=()`` of pooling means
the kernel size, a kernel of 2**36 taps fits a zero-stride input of 2**40),
and a valid call on a zero-stride giant is legitimately long work (every
input element of a pooling window is read).  So a call still computing after
``CALL_SECONDS`` is stopped by a simulated Ctrl-C (a KeyboardInterrupt raised
by a timer signal), which must end it within ``INTERRUPT_SECONDS`` more: the
engines work in chunks of a few milliseconds and check for Ctrl-C between
them.  A slower stop is an ``interrupt`` finding.
"""

import signal
import time

from hypothesis import strategies as st

from .. import values
from ..checks import Finding, call
from ..registry import Target, register

#: Seconds an accepted call may compute before the simulated Ctrl-C.
CALL_SECONDS = 5.0

#: Seconds the simulated Ctrl-C may take to stop the call.
INTERRUPT_SECONDS = 5.0

_f = "float32"
HUGE = (2**36, 2**40, 2**62 - 1, 2**62, 2**63 - 1, 2**63, 2**64, -2**63)

BAD_INT = (0, -1, -7, 1.5, 2.0, True, False, None, "1", b"1", ()) + HUGE + tuple(
    values.obj(name) for name in ("object", "complex", "nan", "inf", "np.float64(2.0)",
                                  "np.float64(2.5)", "np.bool_(True)", "np.array([1, 2])",
                                  "np.array(2.5)", "dict", "set", "slice"))
BAD_INTS = BAD_INT + ((1,), (1, 2, 3, 4), [1, 2, 3, 4, 5], (1, "a"), (1, None), (0, 1),
                      (-1, 1), (2**63, 1), (1, 2**62), (1.5, 1), ([1], [2]), (True, 1))
BAD_PADDING = (-1, -2**63, 1.5, None, b"same", "bogus", "SAME", "", "valid ", 2**40, 2**62,
               2**63, (1,), (1, 2, 3, 4), ((1, 2, 3),), ((-1, 2),), ((2**62, 0),),
               ((1, 2), (3, 4), (5, 6), (7, 8)), ("a", 1), [[None, 1]], (1.5, 1),
               ((1, 2.5),), ((True, 1),)) + tuple(values.obj(n) for n in (
                   "object", "nan", "complex", "np.array([1, 2])", "np.float64(2.0)"))
BAD_CHOICE = ("bogus", "", "ZEROS", "Reflect", None, 1, 0, b"zeros", ("zeros",), True) + tuple(
    values.obj(n) for n in ("object", "np.array(2)"))
BAD_BOOL = (1, 0, 2.0, "yes", "", None, (), (True,)) + tuple(
    values.obj(n) for n in ("object", "np.array([1, 2])", "np.int64(2)"))
BAD_DTYPE = ("float16", "complex64", "object", "int32", "U3", "datetime64[s]", "notadtype",
             1.5, None, 3) + (values.obj("object"),)
BAD_FILL = (None, "a", b"1", 2**70, (1, 2)) + tuple(values.obj(n) for n in (
    "complex", "object", "nan", "inf", "np.array([1, 2])", "np.int64 array (2, 2)"))
BAD_SHAPE = ((), (1,), (1, 2, 3, 4, 5, 6, 7), (-1, 2, 5, 5), (1, 2, -5, 5), (1, 2, 0, 5),
             (1, 2, 2**62, 5), (1, 2**63, 5, 5), (1, 2, 2**62, 2**62), (2**40,) * 4,
             (1.5, 2, 5, 5), ("a", 2, 5, 5), (None, 2, 5, 5), "shape", None, 5,
             (1, 2, 5, 5, 5), (3, 5, 5), (1, 3, 5, 5), (True, 2, 5, 5))

#: Arrays of wrong dtypes, wrong kinds of object, and zero-stride giants.
BAD_ARRAY_OBJECTS = (None, "abc", b"abc", 1.5, 3, (), [[1.0, 2.0], [3.0]]) + tuple(
    values.obj(n) for n in ("object", "ragged list", "dict", "float16 array (1, 1, 3)",
                            "complex64 array (1, 1, 3)", "object array (1, 1, 3)",
                            "str array (1, 1, 3)", "datetime64 array (1, 1, 3)", "memoryview",
                            "np.array(2.5)", "set")
) + tuple(values.broadcast(shape, dtype) for shape, dtype in (
    # sizes up to 2**60 elements: numpy itself refuses views of 2**63 bytes or more
    ((1, 2, 2**40), _f), ((1, 2, 2**36, 5), _f), ((2**40, 2, 5, 5), _f), ((1, 2, 5, 2**40), "f8"),
    ((1, 2, 2**20, 2**20), _f), ((1, 2, 2**29, 2**30), _f), ((2**60,), _f), ((2**62,), "u1"),
    ((2**40, 3), "i4"), ((1, 2**40, 5, 5), _f), ((1, 2, 2**36, 2**20, 5), _f),
    ((2**20, 2**20, 3), "u1"), ((3, 2**40), _f), ((1, 2**36, 5), "f8"), ((2**56, 2, 2), "f8"))
)


@st.composite
def bad_array(draw):
    """A wrong array: another rank or size (0..6 dims of 0..6), or a bad object."""
    if draw(st.booleans()):
        return draw(st.sampled_from(BAD_ARRAY_OBJECTS))
    ndim = draw(st.integers(0, 6))
    shape = tuple(draw(st.integers(0, 6)) for _ in range(ndim))
    dtype = draw(st.sampled_from(("float32", "float64", "int32", "bool", "uint8")))
    layout = draw(st.sampled_from(values.LAYOUTS))
    return values.array(shape, dtype, "normal", layout, draw(st.integers(0, 2**16)))


BAD = {
    "array": bad_array(),
    "int": st.sampled_from(BAD_INT),
    "ints": st.sampled_from(BAD_INTS),
    "padding": st.sampled_from(BAD_PADDING),
    "choice": st.sampled_from(BAD_CHOICE),
    "bool": st.sampled_from(BAD_BOOL),
    "dtype": st.sampled_from(BAD_DTYPE),
    "fill": st.sampled_from(BAD_FILL),
    "shape": st.sampled_from(BAD_SHAPE),
    "out": st.one_of(bad_array(), st.sampled_from([
        values.array((1, 3, 3, 3), "float64"), values.array((1, 3, 3, 3), _f, layout="fortran"),
        values.array((1, 3, 3, 3), _f, layout="strided"),
        values.array((1, 3, 3, 3), _f, layout="read-only"),
        values.array((1, 3, 3, 3), _f, layout="misaligned"),
        values.array((1, 3, 3, 3), _f, layout="byte-swapped"),
        values.array((1, 3, 3, 3), _f, layout="broadcast"), values.array((3, 3, 3), _f),
        values.broadcast((1, 3, 3, 3)), [[1.0]]])),
}


def _array(shape, dtype=_f):
    return values.array(shape, dtype, "normal", "contiguous", 1)


def _conv_base(ndim):
    spatial = (5,) * ndim
    return {
        "x": ("array", _array((1, 2) + spatial)),
        "weight": ("array", _array((3, 2) + (3,) * ndim)),
        "bias": ("array", _array((3,))),
        "stride": ("ints", 1), "padding": ("padding", 0), "dilation": ("ints", 1),
        "groups": ("int", 1), "flip": ("bool", False), "padding_mode": ("choice", "zeros"),
        "out": ("out", None), "threads": ("int", 1), "algorithm": ("choice", "auto"),
    }


#: function name -> (callable name, base arguments: name -> (kind, value)).
BASES = {
    "conv": ("conv", _conv_base(2)),
    "conv1d": ("conv1d", _conv_base(1)),
    "conv2d": ("conv2d", _conv_base(2)),
    "conv3d": ("conv3d", _conv_base(3)),
    "correlate": ("correlate", {"in1": ("array", _array((6, 5))), "in2": ("array", _array((3, 2))),
                                "mode": ("choice", "full"), "method": ("choice", "auto")}),
    "convolve": ("convolve", {"in1": ("array", _array((9,))), "in2": ("array", _array((4,))),
                              "mode": ("choice", "valid"), "method": ("choice", "direct")}),
    "correlate2d": ("correlate2d", {
        "in1": ("array", _array((6, 5))), "in2": ("array", _array((3, 2))),
        "mode": ("choice", "same"), "boundary": ("choice", "fill"), "fillvalue": ("fill", 0)}),
    "convolve2d": ("convolve2d", {
        "in1": ("array", _array((6, 5))), "in2": ("array", _array((3, 2))),
        "mode": ("choice", "full"), "boundary": ("choice", "wrap"), "fillvalue": ("fill", 1.5)}),
    "filter2d": ("filter2d", {"image": ("array", _array((6, 5, 3))),
                              "kernel": ("array", _array((3, 3))), "mode": ("choice", "same"),
                              "boundary": ("choice", "symm")}),
    "edge_magnitude": ("edge_magnitude", {"image": ("array", _array((6, 5))),
                                          "boundary": ("choice", "fill")}),
    "max_pool2d": ("max_pool2d", {
        "x": ("array", _array((1, 2, 6, 6))), "kernel_size": ("ints", 2), "stride": ("ints", None),
        "padding": ("ints", 1), "dilation": ("ints", 1), "ceil_mode": ("bool", False),
        "threads": ("int", 2)}),
    "avg_pool2d": ("avg_pool2d", {
        "x": ("array", _array((2, 6, 6))), "kernel_size": ("ints", (3, 2)), "stride": ("ints", 1),
        "padding": ("ints", 1), "ceil_mode": ("bool", True),
        "count_include_pad": ("bool", False), "threads": ("int", 1)}),
    "im2col": ("im2col", {
        "x": ("array", _array((1, 2, 6, 6))), "kernel_size": ("ints", 3), "stride": ("ints", 1),
        "padding": ("padding", 1), "dilation": ("ints", 1), "threads": ("int", 2)}),
    "col2im": ("col2im", {
        "cols": ("array", _array((1, 18, 36))), "output_size": ("ints", 6),
        "kernel_size": ("ints", 3), "stride": ("ints", 1), "padding": ("padding", 1),
        "dilation": ("ints", 1), "threads": ("int", 2)}),
    "output_shape": ("output_shape", {
        "input_shape": ("shape", (1, 2, 5, 5)), "weight_shape": ("shape", (3, 2, 3, 3)),
        "stride": ("ints", 1), "padding": ("padding", "same"), "dilation": ("ints", 1),
        "groups": ("int", 1), "padding_mode": ("choice", "reflect")}),
    "output_size": ("output_size", {
        "size": ("int", 10), "kernel_size": ("int", 3), "stride": ("int", 1),
        "padding": ("padding", 1), "dilation": ("int", 1)}),
    "plan": ("plan", {
        "x": ("shape", (1, 2, 5, 5)), "weight": ("shape", (3, 2, 3, 3)), "stride": ("ints", 1),
        "padding": ("padding", 1), "dilation": ("ints", 1), "groups": ("int", 1),
        "flip": ("bool", False), "padding_mode": ("choice", "zeros"), "threads": ("int", 2),
        "algorithm": ("choice", "auto"), "dtype": ("dtype", "float32")}),
}
for _ndim in (1, 2, 3):
    BASES[f"Conv{_ndim}d"] = (f"Conv{_ndim}d", {
        "in_channels": ("int", 2), "out_channels": ("int", 4), "kernel_size": ("ints", 3),
        "stride": ("ints", 1), "padding": ("padding", 1), "dilation": ("ints", 1),
        "groups": ("int", 2), "bias": ("bool", True), "padding_mode": ("choice", "zeros"),
        "dtype": ("dtype", "float32"), "seed": ("int", 0),
        "call.x": ("array", _array((1, 2) + (5,) * _ndim)), "call.threads": ("int", 1),
        "call.algorithm": ("choice", "auto"), "call.out": ("out", None),
    })


@st.composite
def invalid_case(draw, function):
    _, base = BASES[function]
    arguments = {name: value for name, (_, value) in base.items()}
    names = sorted(base)
    mutated = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    for name in mutated:
        arguments[name] = draw(BAD[base[name][0]])
    return {"function": function, "arguments": arguments, "mutated": tuple(mutated)}


def run_invalid_case(case):
    import pyconvx

    name, _ = BASES[case["function"]]
    arguments = values.make(case["arguments"])
    direct = {k: v for k, v in arguments.items() if not k.startswith("call.")}
    later = {k[5:]: v for k, v in arguments.items() if k.startswith("call.")}
    result, exc = call_within_budget(getattr(pyconvx, name), direct, case["function"])
    if later and exc is None and result is not None:
        call_within_budget(result, later, f"{case['function']} call")


class _SimulatedCtrlC(KeyboardInterrupt):
    """The KeyboardInterrupt of the timer that stops a long call."""


def _ctrl_c(signum, frame):
    raise _SimulatedCtrlC


def call_within_budget(function, kwargs, what):
    """``checks.call(function, **kwargs)``, stopped by a simulated Ctrl-C after CALL_SECONDS.

    A stopped call returns ``(None, None)``: it was accepted and computing.
    """
    previous = signal.signal(signal.SIGALRM, _ctrl_c)
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, CALL_SECONDS)
    try:
        return call(function, **kwargs)
    except _SimulatedCtrlC:
        late = time.monotonic() - start - CALL_SECONDS
        if late > INTERRUPT_SECONDS:
            raise Finding("interrupt", f"{what}: a Ctrl-C after {CALL_SECONDS:g} s of computing "
                          f"took {late:.1f} s to stop it", what) from None
        return None, None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _describe(case):
    args = ", ".join(f"{k}={values.describe(v)}" for k, v in case["arguments"].items())
    return f"pyconvx.{case['function']}({args})  [invalid: {', '.join(case['mutated'])}]"


for _function in BASES:
    register(Target(
        name=f"invalid.{_function}",
        strategy=(lambda f=_function: invalid_case(f)),
        check=run_invalid_case,
        functions=(_function,),
        describe=_describe,
    ))
