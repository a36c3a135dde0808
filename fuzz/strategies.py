"""Hypothesis strategies shared by the targets: arrays, dtypes, layouts, options."""

import numpy as np
from hypothesis import strategies as st

from . import values

FLOAT_DTYPES = ("float32", "float64")
#: Integer and bool inputs are computed in float64 by every entry point.
INT_DTYPES = ("int8", "uint8", "int16", "int32", "int64", "bool")

#: Weighted so that most cases are float32/float64 and contiguous.
dtypes = st.one_of(
    st.sampled_from(FLOAT_DTYPES), st.sampled_from(FLOAT_DTYPES),
    st.sampled_from(FLOAT_DTYPES), st.sampled_from(INT_DTYPES))
float_dtypes = st.sampled_from(FLOAT_DTYPES)
layouts = st.one_of(st.just("contiguous"), st.sampled_from(values.LAYOUTS))
value_kinds = st.one_of(st.just("normal"), st.sampled_from(values.VALUE_KINDS))
random_states = st.integers(0, 2**32 - 1)
threads = st.one_of(st.none(), st.integers(1, 4))
_SEQUENCE_TYPES = st.sampled_from((tuple, tuple, list))


@st.composite
def arrays(draw, shape, dtype=None, layout=None, kind=None):
    """An array description of ``shape`` (dtype, values and layout drawn unless given)."""
    return values.array(
        shape,
        dtype=draw(dtypes) if dtype is None else dtype,
        values=draw(value_kinds) if kind is None else kind,
        layout=draw(layouts) if layout is None else layout,
        seed=draw(random_states))


def per_dim(draw, items, *, allow_scalar=True):
    """A per-dimension argument: an int when all entries agree (sometimes), else a tuple/list."""
    items = tuple(int(v) for v in items)
    if allow_scalar and len(set(items)) == 1 and draw(st.booleans()):
        return items[0]
    return draw(_SEQUENCE_TYPES)(items)


def result_dtype(*dtype_names):
    """pyconvx's dtype rule: float32 only if every input is float32, else float64."""
    native = [np.dtype(d).newbyteorder("=") for d in dtype_names]
    return np.dtype(np.float32) if all(d == np.float32 for d in native) else np.dtype(np.float64)
