"""Plain-data descriptions of argument values, and the values they make.

A fuzz case is a Python literal (dicts, tuples, lists, ints, strings, None),
so that it can be sent to a child process, saved in a reproducer script and
read back with ``ast.literal_eval``.  Values that are not literals are tagged
dicts:

* ``{"$array": {...}}`` — an ndarray: shape, dtype, the kind of values, the
  random state that draws them, and the memory layout (see ``LAYOUTS``);
* ``{"$broadcast": (shape, dtype)}`` — a zero-stride view of one zero of
  ``shape`` (sizes up to 2**62 cost no memory);
* ``{"$scalar": (dtype, value)}`` — a NumPy scalar, ``np.dtype(dtype).type(value)``;
* ``{"$object": name}`` — one of the objects in ``OBJECTS`` (``object()``,
  NaN, a complex number, ragged lists...).

``make(value)`` turns a description into the value; the same description
always gives the same bits.
"""

import ast

import numpy as np

#: Memory layouts an array argument can have.  Every one holds the same
#: values as the C-contiguous native array ``canonical`` returns.
LAYOUTS = (
    "contiguous",    # C order, native, aligned
    "fortran",       # Fortran order
    "strided",       # every other element of a larger array, along every axis
    "negative",      # negative strides along every axis
    "broadcast",     # zero stride along every axis of length > 1 after the first
    "read-only",     # not writeable
    "byte-swapped",  # non-native byte order
    "misaligned",    # data pointer one byte past an element boundary
)

#: Kinds of values: ``normal`` (standard normal), ``small-int`` (integers in
#: [-4, 4]: every sum is exact), ``wide`` (normal times 2**k, |k| <= 40),
#: ``special`` (mostly normal, with NaN, +-Inf, -0.0 and subnormals).
VALUE_KINDS = ("normal", "small-int", "wide", "special")

#: Non-literal objects a case may pass as an argument.
OBJECTS = {
    "object": object,
    "nan": lambda: float("nan"),
    "inf": lambda: float("inf"),
    "complex": lambda: complex(1, 1),
    "np.float64(2.0)": lambda: np.float64(2.0),
    "np.float64(2.5)": lambda: np.float64(2.5),
    "np.int64(2)": lambda: np.int64(2),
    "np.uint8(3)": lambda: np.uint8(3),
    "np.bool_(True)": lambda: np.bool_(True),
    "np.array(2)": lambda: np.array(2),
    "np.array([1, 2])": lambda: np.array([1, 2]),
    "np.array(2.5)": lambda: np.array(2.5),
    "np.int64 array (2, 2)": lambda: np.ones((2, 2), dtype=np.int64),
    "ragged list": lambda: [[1.0], [2.0, 3.0]],
    "dict": lambda: {"a": 1},
    "set": lambda: {1, 2},
    "slice": lambda: slice(1, 2),
    "float16 array (1, 1, 3)": lambda: np.ones((1, 1, 3), dtype=np.float16),
    "complex64 array (1, 1, 3)": lambda: np.ones((1, 1, 3), dtype=np.complex64),
    "object array (1, 1, 3)": lambda: np.array([[[1.0, None, 2.0]]], dtype=object),
    "str array (1, 1, 3)": lambda: np.array([[["a", "b", "c"]]]),
    "datetime64 array (1, 1, 3)": lambda: np.zeros((1, 1, 3), dtype="datetime64[s]"),
    "memoryview": lambda: memoryview(np.ones(3)),
}

_INTEGER_RANGES = {"b": (0, 1), "u": (0, 5)}


def array(shape, dtype="float64", values="normal", layout="contiguous", seed=0):
    """The plain-data description of an ndarray (see the module docstring)."""
    return {"$array": {"shape": tuple(int(s) for s in shape), "dtype": str(dtype),
                       "values": values, "layout": layout, "seed": int(seed)}}


def obj(name):
    """The description of the object ``OBJECTS[name]``."""
    if name not in OBJECTS:
        raise KeyError(name)
    return {"$object": name}


def broadcast(shape, dtype="float32"):
    """The description of a zero-stride array of ``shape`` (every element 0)."""
    return {"$broadcast": (tuple(int(s) for s in shape), str(dtype))}


def scalar(dtype, value):
    """The description of the NumPy scalar ``np.dtype(dtype).type(value)``."""
    return {"$scalar": (str(dtype), value)}


def is_array(value):
    return isinstance(value, dict) and "$array" in value


def _draw_values(rng, shape, dtype, kind):
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        low, high = _INTEGER_RANGES.get(dtype.kind, (-4, 4))
        return rng.integers(low, high + 1, size=shape).astype(dtype)
    if kind == "small-int":
        data = rng.integers(-4, 5, size=shape).astype(np.float64)
    elif kind == "wide":
        data = rng.standard_normal(shape) * np.exp2(rng.integers(-40, 41, size=shape))
    else:
        data = rng.standard_normal(shape)
    if kind == "special" and data.size:
        specials = np.array([np.nan, np.inf, -np.inf, -0.0, 1e-310, -1e-41, 1e-45])
        count = int(rng.integers(1, 3))
        where = rng.choice(data.size, size=min(count, data.size), replace=False)
        data.flat[where] = rng.choice(specials, size=len(where))
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return data.astype(dtype)


def _base_shape(shape, layout):
    """Shape of the values drawn before ``layout`` is applied (broadcast repeats)."""
    if layout != "broadcast":
        return shape
    return tuple(size if axis == 0 or size <= 1 else 1 for axis, size in enumerate(shape))


def _apply_layout(data, layout, shape):
    if data.ndim == 0 and layout in ("strided", "negative", "broadcast"):
        return np.array(data)  # a 0-d array has no strides to vary
    if layout == "contiguous":
        return np.ascontiguousarray(data)
    if layout == "fortran":
        return np.asfortranarray(data)
    if layout == "strided":
        big = np.zeros(tuple(2 * s for s in data.shape), dtype=data.dtype)
        view = big[(slice(None, None, 2),) * data.ndim]
        view[...] = data
        return view
    if layout == "negative":
        flipped = np.ascontiguousarray(data[(slice(None, None, -1),) * data.ndim])
        return flipped[(slice(None, None, -1),) * data.ndim]
    if layout == "broadcast":
        return np.broadcast_to(data, shape)
    if layout == "read-only":
        result = np.array(data, copy=True)
        result.setflags(write=False)
        return result
    if layout == "byte-swapped":
        if data.dtype.itemsize == 1:
            return np.ascontiguousarray(data)
        return data.astype(data.dtype.newbyteorder("S"))
    if layout == "misaligned":
        buffer = np.zeros(data.nbytes + data.itemsize + 1, dtype=np.uint8)
        view = buffer[1:1 + data.nbytes].view(data.dtype).reshape(data.shape)
        view[...] = data
        return view
    raise ValueError(f"unknown layout {layout!r}")


def make_array(description):
    """The ndarray an ``array(...)`` description stands for."""
    spec = description.get("$array", description)
    shape = tuple(spec["shape"])
    rng = np.random.default_rng(spec["seed"])
    data = _draw_values(rng, _base_shape(shape, spec["layout"]), spec["dtype"], spec["values"])
    return _apply_layout(data, spec["layout"], shape)


def canonical(value):
    """A C-contiguous, native-byte-order, aligned, writeable copy of an array."""
    value = np.asarray(value)
    return np.array(value, dtype=value.dtype.newbyteorder("="), order="C", copy=True)


def make(value):
    """Turn a case value (possibly nested) into the Python value it describes."""
    if isinstance(value, dict):
        if "$array" in value:
            return make_array(value)
        if "$object" in value:
            return OBJECTS[value["$object"]]()
        if "$scalar" in value:
            dtype, item = value["$scalar"]
            return np.dtype(dtype).type(item)
        if "$broadcast" in value:
            shape, dtype = value["$broadcast"]
            return np.broadcast_to(np.zeros((), dtype=dtype), shape)
        return {key: make(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(make(item) for item in value)
    if isinstance(value, list):
        return [make(item) for item in value]
    return value


def describe(value):
    """A short human-readable rendering of a case value."""
    if isinstance(value, dict):
        if "$array" in value:
            spec = value["$array"]
            extra = "" if spec["layout"] == "contiguous" else f" {spec['layout']}"
            return f"<{spec['dtype']} {tuple(spec['shape'])} {spec['values']}{extra}>"
        if "$object" in value:
            return f"<{value['$object']}>"
        if "$scalar" in value:
            return f"np.{value['$scalar'][0]}({value['$scalar'][1]!r})"
        if "$broadcast" in value:
            return f"<{value['$broadcast'][1]} {tuple(value['$broadcast'][0])} zero-stride>"
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        inner = ", ".join(describe(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(describe(v) for v in value) + "]"
    return repr(value)


def dumps(case):
    """One line of Python literal text for ``case`` (read back by ``loads``)."""
    text = repr(case)
    if loads(text) != case:
        raise ValueError(f"case is not a plain literal: {text[:200]}")
    return text


def loads(text):
    return ast.literal_eval(text)
