"""fixed_mmap_threshold: after it runs, a block above the threshold is mmapped (returned
to the system on free) instead of growing the heap."""

import platform
import subprocess
import sys

import pytest
from spacy.util import registry

from spacy_xlie.ml.heap import MAX_MMAP_THRESHOLD, set_mmap_threshold

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc",
                                reason="mallopt and mallinfo2 are glibc's")


#: Run in a fresh interpreter, where no earlier test left a free 16 MB chunk in the heap
#: (malloc serves a block from free heap space before it would mmap or grow the heap).
PROBE = """
import ctypes, ctypes.util, sys
from spacy.util import registry
from spacy_xlie.ml.heap import MAX_MMAP_THRESHOLD, set_mmap_threshold

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]

def mmapped_blocks_while_holding(n_bytes):
    before = libc.mallinfo2().hblks
    libc.malloc(n_bytes)  # held: a freed block would leave free heap space behind
    return libc.mallinfo2().hblks - before

assert set_mmap_threshold(MAX_MMAP_THRESHOLD)
default = mmapped_blocks_while_holding(16 * 1024 * 1024)
fix = registry.callbacks.get("spacy_xlie.fixed_mmap_threshold.v1")(mmap_threshold=65536)
nlp = object()
assert fix(nlp) is nlp
fixed = mmapped_blocks_while_holding(16 * 1024 * 1024)
print(default, fixed)
"""


@glibc_only
def test_blocks_above_the_threshold_are_mmapped():
    """With the highest threshold a 16 MB block grows the heap; after the callback it is
    mmapped (so it goes back to the system when freed)."""
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0", "1"]


def test_out_of_range_threshold_is_refused_when_the_config_is_resolved():
    make = registry.callbacks.get("spacy_xlie.fixed_mmap_threshold.v1")
    with pytest.raises(ValueError, match="mmap_threshold must be between 0 and"):
        make(mmap_threshold=MAX_MMAP_THRESHOLD + 1)


def test_a_c_library_without_mallopt_is_not_an_error():
    assert set_mmap_threshold(65536, libc_name="libno-such-c-library.so") is False
