"""Arrays that end right before an unmapped page (Linux), for over-read tests.

``guarded_array(shape, dtype)`` maps a few pages with ``mmap``, makes the page
after the data ``PROT_NONE``, and places the array so that its last byte is
the last byte before that page: any read past the end of the array is a
SIGSEGV, in a release build as well as under a sanitizer.
"""

import ctypes
import mmap

import numpy as np

_PROT_NONE, _PROT_READ_WRITE = 0, 3
_MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

#: mappings stay alive for the life of the process (the arrays point into them)
_MAPPINGS = []


def guarded_array(shape, dtype, fill=None):
    """A writeable C-contiguous array whose end touches a PROT_NONE page."""
    dtype = np.dtype(dtype)
    nbytes = max(int(np.prod(shape)) * dtype.itemsize, 1)
    page = mmap.PAGESIZE
    data_pages = -(-nbytes // page)
    address = _libc.mmap(None, (data_pages + 1) * page, _PROT_READ_WRITE,
                         _MAP_PRIVATE_ANONYMOUS, -1, 0)
    if address in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap failed")
    guard = address + data_pages * page
    if _libc.mprotect(guard, page, _PROT_NONE) != 0:
        raise OSError(ctypes.get_errno(), "mprotect failed")
    _MAPPINGS.append(address)
    buffer = (ctypes.c_char * nbytes).from_address(guard - nbytes)
    array = np.frombuffer(buffer, dtype=dtype, count=int(np.prod(shape))).reshape(shape)
    if fill is not None:
        array[...] = fill
    return array
