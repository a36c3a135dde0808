"""pyconvx's C API (pyconvx/capi.pxd): a downstream Cython build calling it from a
prange loop, ctypes calls through the PyCapsules, the statuses of bad arguments,
the per-thread last error, Ctrl-C, and a snapshot of the ABI."""

import ctypes
import importlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import pyconvx
from pyconvx import capi
from pyconvx._boundary import PADDING_MODES

from _reference import assert_bitwise_equal, mode_kwargs
from conftest import child_env

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the ABI
#: The exported functions and their C signatures, as the capsules name them.  A
#: change here is a change of the ABI: bump PCX_CAPI_VERSION and say so.
PARAMS_TYPE = "__pyx_t_7pyconvx_4capi_pcx_conv_params"
CONV_ARGS = ("int, {t} const *, Py_ssize_t const *, Py_ssize_t const *, {t} const *, "
             "Py_ssize_t const *, Py_ssize_t const *, {t} const *, {t} *, Py_ssize_t const *, "
             "Py_ssize_t const *, " + PARAMS_TYPE + " const *")
ABI = {
    "pcx_capi_version": "int (void)",
    "pcx_params_init": f"void ({PARAMS_TYPE} *)",
    "pcx_conv_f32": "int (" + CONV_ARGS.format(t="float") + ")",
    "pcx_conv_f64": "int (" + CONV_ARGS.format(t="double") + ")",
    "pcx_status_message": "char const *(int)",
    "pcx_last_error": "char const *(void)",
}
CONSTANTS = {
    "PCX_CAPI_VERSION": 1, "PCX_MAX_SPATIAL_DIMS": 8,
    "PCX_OK": 0, "PCX_ERR_ARGUMENT": 1, "PCX_ERR_NO_MEMORY": 2, "PCX_ERR_INTERRUPTED": 3,
    "PCX_ERR_INTERNAL": 4,
    "PCX_PAD_ZEROS": 0, "PCX_PAD_REFLECT": 1, "PCX_PAD_REPLICATE": 2, "PCX_PAD_CIRCULAR": 3,
    "PCX_PAD_SYMMETRIC": 4, "PCX_PAD_CONSTANT": 5,
}
PARAMS_FIELDS = [("stride", "<i8", (8,), 0), ("padding", "<i8", (8, 2), 64),
                 ("dilation", "<i8", (8,), 192), ("groups", "<i8", (), 256),
                 ("flip", "<i4", (), 264), ("padding_mode", "<i4", (), 268),
                 ("padding_value", "<f8", (), 272), ("threads", "<i4", (), 280)]


def _capsule_signature(capsule):
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.py_object]
    return get_name(capsule).decode()


def test_the_abi_is_the_recorded_one():
    table = capi.__pyx_capi__
    assert {name: _capsule_signature(capsule) for name, capsule in table.items()} == ABI
    assert {name: getattr(capi, name) for name in CONSTANTS} == CONSTANTS
    if np.dtype(np.intp).itemsize == 8 and sys.byteorder == "little":
        fields = capi.PARAMS_DTYPE.fields
        assert list(fields) == [name for name, *_ in PARAMS_FIELDS]
        for name, fmt, shape, offset in PARAMS_FIELDS:
            dtype, at = fields[name][:2]
            assert (dtype.base.str, dtype.shape, at) == (fmt, shape, offset), name
        assert capi.PARAMS_DTYPE.itemsize == 288


def test_padding_mode_codes_are_pyconvx_padding_modes():
    for code, name in enumerate(PADDING_MODES):
        assert getattr(capi, f"PCX_PAD_{name.upper()}") == code


def test_function_address_is_the_capsule_pointer():
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    for name, capsule in capi.__pyx_capi__.items():
        assert capi.function_address(name) == get_pointer(capsule, ABI[name].encode())
    with pytest.raises(ValueError, match="pcx_conv_f32"):
        capi.function_address("conv")


def test_get_include_holds_the_pxd():
    assert (Path(capi.get_include()) / "pyconvx" / "capi.pxd").is_file()


# ----------------------------------------------------------------------------- ctypes
SSIZE_P = ctypes.POINTER(ctypes.c_ssize_t)


def _conv_function(dtype):
    """pcx_conv_f32/f64 as a ctypes function (the GIL is released during the call)."""
    prototype = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p, SSIZE_P, SSIZE_P,
                                 ctypes.c_void_p, SSIZE_P, SSIZE_P, ctypes.c_void_p,
                                 ctypes.c_void_p, SSIZE_P, SSIZE_P, ctypes.c_void_p)
    name = "pcx_conv_f32" if np.dtype(dtype) == np.float32 else "pcx_conv_f64"
    return prototype(capi.function_address(name))


LAST_ERROR = ctypes.CFUNCTYPE(ctypes.c_char_p)(capi.function_address("pcx_last_error"))
STATUS_MESSAGE = ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_int)(
    capi.function_address("pcx_status_message"))


def _sizes(values):
    return (ctypes.c_ssize_t * len(values))(*values)


def _element_strides(array):
    return _sizes([s // array.itemsize for s in array.strides])


def _params(ndim, stride=1, padding=0, dilation=1, groups=1, flip=False, padding_mode="zeros",
            padding_value=0.0, threads=0):
    params = capi.default_params()
    params["stride"][:ndim] = stride
    params["padding"][:ndim] = padding
    params["dilation"][:ndim] = dilation
    params["groups"] = groups
    params["flip"] = flip
    params["padding_mode"] = (padding_mode if isinstance(padding_mode, int)
                              else PADDING_MODES.index(padding_mode))
    params["padding_value"] = padding_value
    params["threads"] = threads
    return params


def call_capi(x, weight, bias, out, params, *, x_strides=True, out_strides=True,
              weight_strides=True, ndim=None):
    """One call through the capsule; returns (status, last error)."""
    ndim = x.ndim - 2 if ndim is None else ndim
    status = _conv_function(out.dtype)(
        ndim, x.ctypes.data, _sizes(x.shape), _element_strides(x) if x_strides else None,
        weight.ctypes.data, _sizes(weight.shape),
        _element_strides(weight) if weight_strides else None,
        None if bias is None else bias.ctypes.data,
        out.ctypes.data, _sizes(out.shape), _element_strides(out) if out_strides else None,
        None if params is None else params.ctypes.data)
    return status, LAST_ERROR().decode()


# Problems with every padding mode, the padding forms, stride, dilation, groups,
# flip and bias, in 1 to 3 spatial dims: (x shape, weight shape, conv arguments).
CASES = [
    ((2, 3, 17), (4, 3, 5), dict(padding=((2, 1),), stride=2)),
    ((1, 4, 12, 11), (4, 2, 3, 3), dict(padding=1, groups=2, dilation=(1, 2))),
    ((2, 3, 13, 9), (5, 3, 3, 2), dict(padding=((1, 2), (0, 1)), stride=(2, 1), flip=True)),
    ((1, 2, 6, 7, 5), (3, 2, 3, 2, 3), dict(padding=((1, 1), (0, 1), (2, 0)))),
    ((1, 1, 30, 30), (1, 1, 7, 7), dict(padding=3)),
    ((3, 6, 9, 10), (6, 1, 3, 3), dict(padding=1, groups=6)),
]


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_ctypes_call_is_bitwise_conv(case, dtype, mode, rng):
    x_shape, w_shape, kwargs = CASES[case]
    x = rng.standard_normal(x_shape).astype(dtype)
    weight = rng.standard_normal(w_shape).astype(dtype)
    bias = rng.standard_normal(w_shape[0]).astype(dtype)
    kwargs = dict(kwargs, **mode_kwargs(mode))
    expected = pyconvx.conv(x, weight, bias, **kwargs)
    geometry = pyconvx.plan(x, weight, **{k: v for k, v in kwargs.items() if k != "flip"}
                            ).geometry
    params = _params(len(w_shape) - 2, stride=geometry.stride, padding=geometry.pads,
                     dilation=geometry.dilation, groups=geometry.groups,
                     flip=kwargs.get("flip", False), padding_mode=mode,
                     padding_value=geometry.padding_value)
    out = np.full(expected.shape, np.nan, dtype)
    assert call_capi(x, weight, bias, out, params) == (capi.PCX_OK, "")
    assert_bitwise_equal(out, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_strided_arrays_and_aliasing(dtype, rng, bitwise):
    """Any element strides for x; a weight and an out that are not C-contiguous
    are copied; an out that overlaps x is computed aside first."""
    base = rng.standard_normal((2, 3, 24, 30)).astype(dtype)
    x = base[:, ::-1, ::2, 1::3]                       # negative and non-unit strides
    weight = np.asfortranarray(rng.standard_normal((4, 3, 3, 3)).astype(dtype))
    params = _params(2, padding=1, padding_mode="reflect")
    expected = pyconvx.conv(x, weight, padding=1, padding_mode="reflect")
    holder = np.full(expected.shape[:-1] + (2 * expected.shape[-1],), np.nan, dtype)
    out = holder[..., ::2]
    assert call_capi(x, weight, None, out, params)[0] == capi.PCX_OK
    bitwise(out, expected)
    assert np.isnan(holder[..., 1::2]).all()           # nothing written between

    same = rng.standard_normal((1, 2, 9, 9)).astype(dtype)
    weight = rng.standard_normal((2, 2, 3, 3)).astype(dtype)
    expected = pyconvx.conv(same, weight, padding=1)
    assert call_capi(same, weight, None, same, _params(2, padding=1))[0] == capi.PCX_OK
    bitwise(same, expected)                            # out is x itself


def test_zero_sized_and_empty_reduction(rng, bitwise):
    weight = rng.standard_normal((3, 2, 3)).astype(np.float32)
    empty = np.zeros((0, 2, 8), np.float32)
    out = np.zeros((0, 3, 6), np.float32)
    assert call_capi(empty, weight, None, out, None)[0] == capi.PCX_OK
    x = np.zeros((2, 0, 8))                             # no input channels: bias only
    weight = np.zeros((3, 0, 3))
    bias = np.array([1.5, -2.0, 0.25])
    out = np.full((2, 3, 6), np.nan)
    assert call_capi(x, weight, bias, out, None)[0] == capi.PCX_OK
    bitwise(out, pyconvx.conv(x, weight, bias))


def test_default_params_and_thread_counts(rng, bitwise):
    x = rng.standard_normal((2, 8, 20, 20))
    weight = rng.standard_normal((8, 8, 3, 3))
    expected = pyconvx.conv(x, weight)
    for params in (None, _params(2), _params(2, threads=1), _params(2, threads=3)):
        out = np.empty_like(expected)
        assert call_capi(x, weight, None, out, params)[0] == capi.PCX_OK
        bitwise(out, expected)


def test_out_overlapping_x_without_strides(rng, bitwise):
    """out is x's own buffer, both given without strides: computed aside, then copied."""
    x = rng.standard_normal((1, 2, 9, 9))
    weight = rng.standard_normal((2, 2, 3, 3))
    expected = pyconvx.conv(x, weight, padding=1)
    assert call_capi(x, weight, None, x, _params(2, padding=1), x_strides=False,
                     out_strides=False)[0] == capi.PCX_OK
    bitwise(x, expected)


def test_a_plan_in_reduction_blocks(rng, bitwise, monkeypatch):
    """A window larger than the scratch limit is planned as several records that
    continue each other's sums (the bias comes with the last): the C API runs them
    all, with the bits of pyconvx.conv.  The limits are lowered so that a small
    problem takes that path."""
    from pyconvx._engine import plan as planner

    x = rng.standard_normal((2, 9, 11, 13))
    weight = rng.standard_normal((6, 9, 3, 3))
    bias = rng.standard_normal(6)
    expected = pyconvx.conv(x, weight, bias, padding=1)
    geometry = pyconvx.plan(x, weight, padding=1).geometry
    one_channel = planner._window_band_bytes(geometry, 1, geometry.kernel, 8)
    monkeypatch.setattr(planner, "BAND_TARGET_BYTES", 1)    # one-output boxes
    whole = planner.make_plan(geometry, np.float64, threads=1)
    monkeypatch.setattr(planner, "WORKSPACE_LIMIT_BYTES",
                        whole.records[0].fields["scratch"]["bytes_per_thread"] - 1)
    monkeypatch.setattr(planner, "REDUCTION_BLOCK_BYTES", 2 * one_channel)
    assert len(planner.make_plan(geometry, np.float64, threads=1).records) > 1
    out = np.full(expected.shape, np.nan)
    assert call_capi(x, weight, bias, out, _params(2, padding=1)) == (capi.PCX_OK, "")
    bitwise(out, expected)


def test_more_problems_than_the_cache_holds(rng, bitwise):
    """The plans of recent problems are kept (without the GIL a repeated problem only
    looks its plan up); cycling through more problems than are kept replaces them,
    and every call stays right."""
    weight = rng.standard_normal((2, 1, 3, 3))
    sizes = range(8, 8 + 90)
    images = {n: rng.standard_normal((1, 1, n, 7)) for n in sizes}
    expected = {n: pyconvx.conv(images[n], weight) for n in sizes}
    for _ in range(2):
        for n in sizes:
            out = np.empty_like(expected[n])
            assert call_capi(images[n], weight, None, out, None)[0] == capi.PCX_OK
            bitwise(out, expected[n])


def test_threads_calling_at_once(rng):
    """Threads calling at once (the GIL released by ctypes), on a few problems each
    seen for the first time by several threads at the same moment."""
    problems = []
    for n in (12, 13, 14, 15):
        x = rng.standard_normal((1, 2, n, n))
        weight = rng.standard_normal((3, 2, 3, 3))
        problems.append((x, weight, pyconvx.conv(x, weight, padding=1)))
    failures = []
    start = threading.Barrier(6)

    def work(seed):
        order = np.random.default_rng(seed).permutation(40) % len(problems)
        start.wait(30)
        for index in order:
            x, weight, expected = problems[index]
            out = np.empty_like(expected)
            status, message = call_capi(x, weight, None, out, _params(2, padding=1, threads=1))
            if status != capi.PCX_OK or out.tobytes() != expected.tobytes():
                failures.append((seed, index, status, message))

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures


def test_the_process_simd_level_whatever_the_thread_forces(rng, bitwise):
    """A plan of the C API serves every thread, so it is made for the process's own
    SIMD level: a thread that forces another level for pyconvx.conv (a testing aid)
    does not change what the C API computes."""
    from pyconvx._engine import dispatch

    x = rng.standard_normal((1, 3, 21, 23)).astype(np.float32)
    weight = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    expected = pyconvx.conv(x, weight, padding=1)
    for level in dispatch.available_levels():
        with dispatch.forced_simd(level):
            out = np.empty_like(expected)
            assert call_capi(x, weight, None, out, _params(2, padding=1))[0] == capi.PCX_OK
        bitwise(out, expected)


FORKED_CHILD = """
    import ctypes, os, sys
    import numpy as np
    import pyconvx
    from pyconvx import capi

    conv = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, *[ctypes.c_size_t] * 11)(
        capi.function_address("pcx_conv_f64"))
    x = np.random.default_rng(0).standard_normal((2, 4, 40, 40))
    w = np.ones((4, 4, 3, 3))
    out = np.empty((2, 4, 38, 38))
    shapes = [np.array(a.shape, dtype=np.intp) for a in (x, w, out)]

    def call():
        return conv(2, x.ctypes.data, shapes[0].ctypes.data, 0, w.ctypes.data,
                    shapes[1].ctypes.data, 0, 0, out.ctypes.data, shapes[2].ctypes.data, 0, 0)

    assert call() == 0                     # planned for this process's threads, cached
    pid = os.fork()
    if pid == 0:                           # the child plans afresh, single-threaded
        status = call()
        good = out.tobytes() == pyconvx.conv(x, w).tobytes()
        os._exit(0 if status == 0 and good else 1)
    _, code = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(code))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_calls_the_c_api():
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(FORKED_CHILD)],
                            env=child_env(), capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "child 0", result.stdout + result.stderr[-2000:]


# ----------------------------------------------------------------------------- statuses
def _good_problem():
    x = np.ones((1, 2, 8, 8))
    weight = np.ones((3, 2, 3, 3))
    out = np.zeros((1, 3, 6, 6))
    return x, weight, out


@pytest.mark.parametrize("change, message", [
    (dict(ndim=0), "ndim must be between 1 and 8, got 0"),
    (dict(ndim=9), "ndim must be between 1 and 8, got 9"),
    (dict(params=dict(padding_mode=6)), "params.padding_mode must be a PCX_PAD_"),
    (dict(params=dict(padding_mode=-1)), "params.padding_mode must be a PCX_PAD_"),
    (dict(params=dict(threads=-1)), "params.threads must be >= 0"),
    (dict(params=dict(stride=0)), "stride must be >= 1"),
    (dict(params=dict(dilation=-2)), "dilation must be >= 1"),
    (dict(params=dict(groups=0)), "groups must be >= 1"),
    (dict(params=dict(groups=2)), "groups=2 must divide both"),
    (dict(params=dict(padding=-1)), "padding must be >= 0"),
    (dict(params=dict(padding=8, padding_mode=1)), "padding_mode='reflect' needs padding <"),
    (dict(params=dict(padding_value=1.0)), "padding_value=1.0 is used only with"),
    (dict(out_shape=(1, 3, 8, 8)), "this convolution's output has shape (1, 3, 6, 6)"),
    (dict(weight_shape=(3, 3, 3, 3)), "x has C_in=2 channels but weight shape"),
    (dict(x_shape=(1, 2, 2, 8)), "the dilated kernel (3 = dilation 1 * (kernel 3 - 1) + 1)"),
    (dict(null="x"), "x must not be NULL"),
    (dict(null="weight"), "weight must not be NULL"),
    (dict(null="out"), "out must not be NULL"),
    (dict(null="x_shape"), "x_shape must not be NULL"),
    (dict(misaligned="x"), "x must be aligned to its 8-byte elements"),
    (dict(misaligned="out"), "out must be aligned to its 8-byte elements"),
])
def test_bad_arguments_give_the_argument_status(change, message):
    x, weight, out = _good_problem()
    params = _params(2, **change.get("params", {}))
    ndim = change.get("ndim", 2)
    pointers = {"x": x.ctypes.data, "weight": weight.ctypes.data, "out": out.ctypes.data}
    shapes = {"x_shape": _sizes(change.get("x_shape", x.shape)),
              "weight_shape": _sizes(change.get("weight_shape", weight.shape)),
              "out_shape": _sizes(change.get("out_shape", out.shape))}
    if "null" in change:
        pointers.pop(change["null"], None)
        shapes.pop(change["null"], None)
    if "misaligned" in change:
        pointers[change["misaligned"]] += 4
    before = out.copy()
    status = _conv_function(np.float64)(
        ndim, pointers.get("x"), shapes.get("x_shape"), None, pointers.get("weight"),
        shapes.get("weight_shape"), None, None, pointers.get("out"), shapes.get("out_shape"),
        None, params.ctypes.data)
    assert status == capi.PCX_ERR_ARGUMENT
    assert STATUS_MESSAGE(status) == b"invalid argument"
    assert message in LAST_ERROR().decode()
    np.testing.assert_array_equal(out, before)          # nothing written


def test_an_impossible_copy_gives_the_memory_status():
    """An out of 8 TiB that is not C-contiguous would need a copy of that size: the
    status says so before anything is allocated or read."""
    x = np.zeros(1)
    huge = (1, 1, 2**20, 2**20)
    status = _conv_function(np.float64)(
        2, x.ctypes.data, _sizes(huge), None, x.ctypes.data, _sizes((1, 1, 1, 1)), None, None,
        x.ctypes.data, _sizes(huge), _sizes((2**41, 2**40, 1, 2**20)), None)
    assert status == capi.PCX_ERR_NO_MEMORY
    assert STATUS_MESSAGE(status) == b"out of memory"
    assert "bytes" in LAST_ERROR().decode()


def test_status_messages():
    assert {code: STATUS_MESSAGE(code).decode() for code in range(-1, 6)} == {
        -1: "unknown status", 0: "success", 1: "invalid argument", 2: "out of memory",
        3: "interrupted by a signal", 4: "internal error", 5: "unknown status"}


def test_last_error_is_per_thread():
    """A failure in one thread leaves its message there; another thread's success
    clears only its own."""
    x, weight, out = _good_problem()
    failed, succeeded = threading.Event(), threading.Event()
    seen = {}

    def failing():
        seen["status"] = call_capi(x, weight, None, np.zeros((1, 3, 5, 5)), None)[0]
        failed.set()
        succeeded.wait(30)
        seen["failing thread"] = LAST_ERROR().decode()

    thread = threading.Thread(target=failing)
    thread.start()
    failed.wait(30)
    seen["other thread"] = call_capi(x, weight, None, out, None)[1]
    succeeded.set()
    thread.join(30)
    assert seen["status"] == capi.PCX_ERR_ARGUMENT
    assert "output has shape (1, 3, 6, 6)" in seen["failing thread"]
    assert seen["other thread"] == ""


INTERRUPTED_CHILD = """
    import ctypes, signal, sys, time
    import numpy as np
    from pyconvx import capi

    class Stop(Exception):
        pass

    def stop(signum, frame):
        raise Stop("stop requested")

    if {custom_handler!r}:
        signal.signal(signal.SIGINT, stop)
    sizes = lambda values: (ctypes.c_ssize_t * len(values))(*values)
    voidp = ctypes.c_void_p
    conv = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, *[voidp] * 11)(   # releases the GIL
        capi.function_address("pcx_conv_f32"))
    last_error = ctypes.CFUNCTYPE(ctypes.c_char_p)(capi.function_address("pcx_last_error"))
    x = np.ones((256, 64, 64, 64), np.float32)          # ~700 GFLOP: seconds of work
    w = np.ones((64, 64, 9, 9), np.float32)             # even on a fast 2-core machine
    out = np.empty((256, 64, 64, 64), np.float32)
    params = capi.default_params()
    params["padding"][:2] = 4
    one = sizes((1, 64, 64, 64))
    conv(2, x.ctypes.data, one, None, w.ctypes.data, sizes(w.shape), None, None,
         out.ctypes.data, one, None, params.ctypes.data)     # warm up, plan
    print("started", flush=True)
    status = None
    try:
        status = conv(2, x.ctypes.data, sizes(x.shape), None, w.ctypes.data, sizes(w.shape),
                      None, None, out.ctypes.data, sizes(out.shape), None, params.ctypes.data)
        print(status, last_error().decode(), flush=True)
        time.sleep(5)
        print("not raised", flush=True)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", flush=True)
"""


@pytest.mark.parametrize("custom_handler", [True, False], ids=["handler", "ctrl-c"])
def test_ctrl_c_stops_a_long_call_with_a_status(custom_handler):
    """SIGINT during a long call: the call returns PCX_ERR_INTERRUPTED with the
    handler's exception as its message (nothing escapes it); a KeyboardInterrupt is
    re-armed, so the caller's Python code still raises it."""
    code = textwrap.dedent(INTERRUPTED_CHILD.format(custom_handler=custom_handler))
    child = subprocess.Popen([sys.executable, "-c", code], env=child_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "started"
        time.sleep(0.3)
        started = time.perf_counter()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
        elapsed = time.perf_counter() - started
    finally:
        child.kill()
    lines = out.strip().splitlines()
    if custom_handler:
        assert lines == [f"{capi.PCX_ERR_INTERRUPTED} interrupted by Stop: stop requested",
                         "not raised"], (out, err[-2000:])
    else:
        assert lines[-1] == "KeyboardInterrupt", (out, err[-2000:])
        assert elapsed < 4, "the re-armed interrupt came only after the sleep"
        if len(lines) == 2:   # the status was printed before the interrupt landed
            assert lines[0].startswith(f"{capi.PCX_ERR_INTERRUPTED} interrupted by "
                                       "KeyboardInterrupt")
    assert child.returncode == 0, err[-2000:]


# ----------------------------------------------------------------------------- Cython
@pytest.fixture(scope="module")
def downstream(tmp_path_factory):
    """tests/api/capi_example.pyx built as a separate extension: setuptools and
    Cython, pyconvx's .pxd from ``capi.get_include()``, OpenMP for its prange."""
    pytest.importorskip("Cython")
    folder = tmp_path_factory.mktemp("downstream")
    module = "pyconvx_capi_example"
    shutil.copy(HERE / "capi_example.pyx", folder / f"{module}.pyx")
    (folder / "setup.py").write_text(textwrap.dedent(f"""
        from Cython.Build import cythonize
        from setuptools import Extension, setup
        from pyconvx import capi

        extension = Extension("{module}", ["{module}.pyx"],
                              extra_compile_args=["-fopenmp"], extra_link_args=["-fopenmp"])
        setup(ext_modules=cythonize([extension], include_path=[capi.get_include()],
                                    quiet=True),
              script_args=["build_ext", "--inplace", "-q"])
    """))
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "setup.py"], cwd=folder, env=child_env(),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    built_in = time.perf_counter() - started
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(module), built_in
    finally:
        sys.path.remove(str(folder))


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cython_prange_calls_are_bitwise_conv(downstream, dtype, rng, bitwise):
    """Several independent convolutions, one per iteration of a nogil prange loop
    in another extension, give the bits of pyconvx.conv on each image."""
    module, _ = downstream
    images = rng.standard_normal((12, 3, 33, 29)).astype(dtype)
    weight = rng.standard_normal((5, 3, 3, 3)).astype(dtype)
    out = np.full((12, 5, 33, 29), np.nan, dtype)
    statuses = module.conv_each(images, weight, out, 1, 4)
    assert statuses == [capi.PCX_OK] * 12
    for i in range(12):
        bitwise(out[i:i + 1], pyconvx.conv(images[i:i + 1], weight, padding=1))


@pytest.mark.slow
def test_cython_caller_reads_the_status_and_message(downstream):
    module, _ = downstream
    assert module.failed_call() == (
        capi.PCX_ERR_ARGUMENT, "invalid argument",
        "out_shape is (1, 1, 4, 4); this convolution's output has shape (1, 1, 2, 2)")


@pytest.mark.slow
def test_the_downstream_build_is_quick(downstream):
    """The build compiles one small C file: well under half a minute."""
    assert downstream[1] < 60, f"the downstream build took {downstream[1]:.1f} s"


# ----------------------------------------------------------------------------- numba
def test_numba_calls_the_capsule_in_a_parallel_loop(rng, bitwise):
    """numba's get_cython_function_address reaches pcx_conv_f64; a parallel loop of
    nopython code calls it once per image (pointers passed as addresses, 0 for NULL)."""
    numba = pytest.importorskip("numba")
    from numba.core.extending import get_cython_function_address

    address = get_cython_function_address("pyconvx.capi", "pcx_conv_f64")
    assert address == capi.function_address("pcx_conv_f64")
    conv_f64 = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, *[ctypes.c_size_t] * 11)(address)

    @numba.njit(parallel=True)
    def conv_each(images, weight, out, params_address):
        x_shape = np.array((1,) + images.shape[1:], dtype=np.intp)
        w_shape = np.array(weight.shape, dtype=np.intp)
        out_shape = np.array((1,) + out.shape[1:], dtype=np.intp)
        statuses = np.empty(images.shape[0], dtype=np.int32)
        for i in numba.prange(images.shape[0]):
            statuses[i] = conv_f64(2, images[i].ctypes.data, x_shape.ctypes.data, 0,
                                   weight.ctypes.data, w_shape.ctypes.data, 0, 0,
                                   out[i].ctypes.data, out_shape.ctypes.data, 0, params_address)
        return statuses

    images = rng.standard_normal((6, 2, 20, 16))
    weight = rng.standard_normal((3, 2, 5, 5))
    out = np.full((6, 3, 20, 16), np.nan)
    params = _params(2, padding=2, padding_mode="replicate", threads=1)
    assert (conv_each(images, weight, out, params.ctypes.data) == capi.PCX_OK).all()
    bitwise(out, pyconvx.conv(images, weight, padding=2, padding_mode="replicate"))


def test_the_module_is_not_imported_by_pyconvx():
    """The C API is opt-in: ``import pyconvx`` leaves it alone (the Cython import of
    a downstream extension loads it)."""
    code = "import sys, pyconvx; print('pyconvx.capi' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], env=child_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
    assert os.path.basename(capi.__file__).startswith("capi.")
