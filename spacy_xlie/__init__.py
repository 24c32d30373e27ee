"""spacy-xlie: cross-lingual relation extraction for spaCy.

Importing the package registers the ``Doc`` extensions (``doc._.relations``,
``doc._.xlie_id``, ``doc._.xlie_lang``). Components, architectures, readers and scorers
are found by spaCy through entry points, so a packaged pipeline loads without importing
this package first.
"""

from .about import __version__
from .patches.msgpack_codecs import cache_msgpack_codecs
from .patches.multiprocessing_pipe import install as install_fast_pipe
from .relations import (
    NO_RELATION,
    Relation,
    RelationError,
    add_entities,
    add_relation,
    add_relations,
    clear_relations,
    get_relations,
    register_extensions,
    set_relations,
    span_from_chars,
    span_from_tokens,
)

register_extensions()
cache_msgpack_codecs()
# nlp.pipe(n_process=N) moves docs to and from its workers in batches (see the module).
install_fast_pipe()
# Registers doc._.xlie_unrepresentable: gold relations without a span (see the module).
from . import unrepresentable  # noqa: E402,F401

__all__ = [
    "__version__",
    "NO_RELATION",
    "Relation",
    "RelationError",
    "add_entities",
    "add_relation",
    "add_relations",
    "clear_relations",
    "get_relations",
    "register_extensions",
    "set_relations",
    "span_from_chars",
    "span_from_tokens",
]
