"""fixed_mmap_threshold: after it runs, a block above the threshold is mmapped (returned
to the system on free) instead of growing the heap."""

import ctypes
import ctypes.util
import platform

import pytest
from spacy.util import registry

from spacy_xlie.ml.heap import MAX_MMAP_THRESHOLD, set_mmap_threshold

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc",
                                reason="mallopt and mallinfo2 are glibc's")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def mmapped_blocks_while_holding(n_bytes: int) -> int:
    """How many more mmapped blocks glibc counts while a block of ``n_bytes`` is held."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = _MallInfo2
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    before = libc.mallinfo2().hblks
    block = libc.malloc(n_bytes)
    during = libc.mallinfo2().hblks
    libc.free(block)
    return during - before


@pytest.fixture
def restore_default_threshold():
    yield
    set_mmap_threshold(128 * 1024)


@glibc_only
def test_blocks_above_the_threshold_are_mmapped(restore_default_threshold):
    size = 16 * 1024 * 1024
    assert set_mmap_threshold(MAX_MMAP_THRESHOLD)
    assert mmapped_blocks_while_holding(size) == 0  # the heap grows instead
    fix = registry.callbacks.get("spacy_xlie.fixed_mmap_threshold.v1")(mmap_threshold=65536)
    nlp = object()
    assert fix(nlp) is nlp
    assert mmapped_blocks_while_holding(size) == 1


def test_out_of_range_threshold_is_refused_when_the_config_is_resolved():
    make = registry.callbacks.get("spacy_xlie.fixed_mmap_threshold.v1")
    with pytest.raises(ValueError, match="mmap_threshold must be between 0 and"):
        make(mmap_threshold=MAX_MMAP_THRESHOLD + 1)


def test_a_c_library_without_mallopt_is_not_an_error():
    assert set_mmap_threshold(65536, libc_name="libno-such-c-library.so") is False
