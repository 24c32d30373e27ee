"""Keep a CPU training run's resident memory flat: large blocks go back to the system
when freed.

glibc's ``malloc`` serves blocks above its *mmap threshold* with ``mmap`` (returned to the
system by ``free``) and smaller ones from its heaps, which only shrink from the top. The
threshold starts at 128 kB but rises, up to 32 MB, each time such a block is freed. A
PyTorch training step allocates and frees activations of a different size on every
batch, so after the first steps they all come from the heaps, which fragment and keep
growing. A fixed threshold (``mallopt(M_MMAP_THRESHOLD)``, which also stops the raises)
keeps it flat, at the cost of the page faults of fresh mappings: in 400 e5small training
steps, near 2 GB instead of growing to 3.8 GB, same losses, 1.29x the wall time
(``bench/results/training_memory.md``).

Setting it from the config, as an ``[initialize.before_init]`` callback, makes it part of
``spacy train`` for that config only: prediction (``spacy.load``) keeps glibc's default.
Nothing on PyPI sets malloc parameters, so this calls ``mallopt`` through ``ctypes``;
where the C library has no ``mallopt`` (macOS, musl) the callback does nothing.
"""

import ctypes
import ctypes.util
from typing import Callable, Optional

from spacy.language import Language
from spacy.util import registry

#: glibc's ``mallopt`` parameter number of the mmap threshold (``malloc.h``).
M_MMAP_THRESHOLD = -3
#: The largest threshold glibc accepts on 64-bit systems (``HEAP_MAX_SIZE / 2``).
MAX_MMAP_THRESHOLD = 32 * 1024 * 1024


def set_mmap_threshold(n_bytes: int, libc_name: Optional[str] = None) -> bool:
    """Serve blocks of ``n_bytes`` or more with ``mmap`` from now on; ``False`` where the C
    library has no ``mallopt`` or refuses the value."""
    _check_threshold(n_bytes)
    try:
        libc = ctypes.CDLL(libc_name or ctypes.util.find_library("c"))
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, n_bytes) == 1


def _check_threshold(n_bytes: int) -> None:
    if not 0 <= n_bytes <= MAX_MMAP_THRESHOLD:
        raise ValueError(f"mmap_threshold must be between 0 and {MAX_MMAP_THRESHOLD:,} "
                         f"bytes, got {n_bytes:,}")


@registry.callbacks("spacy_xlie.fixed_mmap_threshold.v1")
def create_fixed_mmap_threshold(mmap_threshold: int = 65536) -> Callable[[Language], Language]:
    """An ``[initialize.before_init]`` callback that fixes the mmap threshold at
    ``mmap_threshold`` bytes for the rest of the training process (see the module
    docstring); it checks the value when the config is resolved."""
    _check_threshold(mmap_threshold)

    def fix_threshold(nlp: Language) -> Language:
        set_mmap_threshold(mmap_threshold)
        return nlp

    return fix_threshold
