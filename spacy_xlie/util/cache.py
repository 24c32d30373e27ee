"""Per-process cache of loaded pipelines, knowledge bases and input files.

A shard task carries paths, never a model: the worker process loads what a path names
once and keeps it for every later shard (Dask worker processes live across tasks). The
key includes :func:`path_signature`, so a file changed on disk between two runs in one
process is loaded again rather than served stale.
"""

import hashlib
import json
import os
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Hashable, Optional, Tuple, TypeVar, Union

from spacy.util import get_package_path, is_package

T = TypeVar("T")

#: Loaded objects kept per process (pipelines are large: keep few).
MAX_ENTRIES = 4
_CACHE: "OrderedDict[Hashable, Any]" = OrderedDict()
#: Seconds this process has spent loading (what a shard's report separates from its work).
_LOADING = {"seconds": 0.0}


def load_seconds() -> float:
    """Seconds spent in :func:`cached` loads so far in this process."""
    return _LOADING["seconds"]


def path_signature(path: Union[str, Path]) -> str:
    """Size and modification time of a file, or of every file under a directory: cheap,
    and it changes whenever the content is rewritten. A name that is no path is the
    installed pipeline package of that name (its data directory: upgrading the package
    changes the signature), else its own signature."""
    if not Path(path).exists() and is_package(str(path)):
        path = get_package_path(str(path))
    path = Path(path)
    if not path.exists():
        return str(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    parts = []
    for file in files:
        stat = file.stat()
        parts.append((str(file.relative_to(path)) if file != path else file.name,
                      stat.st_size, stat.st_mtime_ns))
    return hashlib.sha256(json.dumps(parts).encode("utf8")).hexdigest()[:16]


def cached(kind: str, path: Optional[Union[str, Path]], settings: Hashable,
           load: Callable[[], T]) -> T:
    """``load()``'s result for ``(kind, path, settings)``, loaded once per process
    (``path`` None: nothing on disk is loaded)."""
    where = (os.path.abspath(path), path_signature(path)) if path is not None else None
    key: Tuple[Hashable, ...] = (kind, where, settings)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    start = time.perf_counter()
    value = load()
    _LOADING["seconds"] += time.perf_counter() - start
    _CACHE[key] = value
    while len(_CACHE) > MAX_ENTRIES:
        _CACHE.popitem(last=False)
    return value
