"""Cheap per-doc serialisation: srsly's msgpack codec look-ups, cached.

Every ``srsly.msgpack_dumps``/``msgpack_loads`` call builds a new packer or unpacker and
asks the catalogue registries ``srsly.msgpack_encoders``/``msgpack_decoders`` for all
their codecs. catalogue answers by scanning the installed packages' entry points and its
whole global registry, each time: about 0.2 ms per call in a venv with spaCy, torch and
transformers. ``Doc.to_bytes`` and ``Doc.from_bytes`` make three such calls each for a
doc with user data (``doc._.relations``), ``DocBin`` one per doc on each side, so
``nlp.pipe(n_process=2)`` paid about 3 ms per doc for the round trip from its workers:
more than labelling the doc (see ``bench/results/distant_labeler.md``).

:func:`cache_msgpack_codecs` keeps each registry's answer until something registers a
new codec through it. The answer is the same as catalogue's: the entry points are read
once per process by catalogue itself (``catalogue.AVAILABLE_ENTRY_POINTS``), and the
registry changes only through ``register``. It runs on ``import spacy_xlie``, so worker
processes (forked, spawned or Dask) get it too.
"""

from typing import Any, Callable, Dict, Optional

import srsly.msgpack

#: Marks a registry whose ``get_all`` is already cached (the function is idempotent).
_CACHED = "_xlie_cached_get_all"


def _cache_registry(registry: Any) -> None:
    if getattr(registry, _CACHED, False):
        return
    get_all: Callable[[], Dict[str, Any]] = registry.get_all
    register: Callable[..., Any] = registry.register
    cache: Dict[str, Optional[Dict[str, Any]]] = {"codecs": None}

    def cached_get_all() -> Dict[str, Any]:
        if cache["codecs"] is None:
            cache["codecs"] = get_all()
        return dict(cache["codecs"])

    def register_and_forget(name: str, *, func: Optional[Any] = None) -> Any:
        def do_registration(f: Any) -> Any:
            register(name, func=f)
            cache["codecs"] = None
            return f

        return do_registration(func) if func is not None else do_registration

    registry.get_all = cached_get_all
    registry.register = register_and_forget
    setattr(registry, _CACHED, True)


def cache_msgpack_codecs() -> None:
    """Cache srsly's msgpack encoder and decoder look-ups in this process (idempotent)."""
    _cache_registry(srsly.msgpack.msgpack_encoders)
    _cache_registry(srsly.msgpack.msgpack_decoders)
