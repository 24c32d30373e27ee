"""Per-process tables of values computed from token strings, keyed by string hash.

A token's string hash (``ORTH``) is the same in every vocab, so a value computed from a
token's text (a transliteration, a split, a normalised form) can be computed once per
process and then read with one dict look-up per token, from one ``Doc.to_array(ORTH)``:
cheaper than creating ``Token`` objects or several ``lru_cache`` look-ups by text.
"""

from typing import Callable, Dict, List, TypeVar

from spacy.tokens import Doc

V = TypeVar("V")


class ByHash(Dict[int, V]):
    """String hash -> ``compute(text)``, filled as docs are read; emptied when it grows
    past ``max_size`` entries (a long corpus run sees ever new strings)."""

    def __init__(self, compute: Callable[[str], V], max_size: int = 1 << 18) -> None:
        super().__init__()
        self.compute, self.max_size = compute, max_size

    def of(self, doc: Doc, orths: List[int]) -> List[V]:
        """The value for each of ``doc``'s token hashes ``orths`` (the strings are looked
        up in ``doc.vocab`` where new)."""
        try:
            return list(map(self.__getitem__, orths))
        except KeyError:
            if len(self) > self.max_size:
                self.clear()
            strings = doc.vocab.strings
            for orth in orths:
                if orth not in self:
                    self[orth] = self.compute(strings[orth])
            return list(map(self.__getitem__, orths))
