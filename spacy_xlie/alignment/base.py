"""What every alignment backend returns: ranked candidate target spans per source span.

A backend proposes, the projection decides: :func:`spacy_xlie.alignment.projection.project`
assigns candidates to source entities greedily (best confidence first), so that two
projected entities never overlap and a relation is kept only when both arguments land.
Backends therefore return *several* ranked candidates per source span, not one answer.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc

#: A source span as token offsets ``(start, end)``.
TokenSpan = Tuple[int, int]
#: One alignment task: source doc, target doc, the source spans to find in the target.
AlignmentTask = Tuple[Doc, Doc, Sequence[TokenSpan]]

#: Why a place that was found cannot be projected (see :attr:`Candidate.blocked`).
CROSSES_TOKEN_BOUNDARY = "crosses_token_boundary"


@dataclass(frozen=True)
class Candidate:
    """A target span ``[start, end)`` proposed for a source span, with a 0–1 confidence.

    ``blocked`` names why a place that was found cannot be projected (a match that
    starts or ends inside a target token: :data:`CROSSES_TOKEN_BOUNDARY`); the
    projection never assigns such a candidate, it only reports the reason.
    """

    start: int
    end: int
    score: float
    method: str
    blocked: Optional[str] = None

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


class SpanAligner(ABC):
    """Finds target-language spans for source-language spans of a parallel sentence pair."""

    #: Name written to projection records and reports ("lexical", "embedding", "hybrid").
    name: str = "aligner"

    @abstractmethod
    def candidates_batch(self, tasks: Sequence[AlignmentTask]) -> List[List[List[Candidate]]]:
        """For each task, for each source span: candidates, best first (maybe none)."""

    def candidates(
        self, src_doc: Doc, tgt_doc: Doc, spans: Sequence[TokenSpan]
    ) -> List[List[Candidate]]:
        """Candidates for one sentence pair (see :meth:`candidates_batch`)."""
        return self.candidates_batch([(src_doc, tgt_doc, spans)])[0]


def blocks_from_links(
    targets: Iterable[Tuple[int, float]], *, max_gap: int = 1
) -> List[Tuple[int, int, float, int]]:
    """Group aligned target tokens into contiguous blocks, largest first.

    ``targets`` holds ``(target_token, link_score)`` for every link from a source span.
    Gaps of up to ``max_gap`` unaligned tokens are bridged (a determiner or a particle
    the aligner missed inside a name). Returns ``(start, end, mean_link_score, n_linked)``
    per block, sorted by the number of linked tokens, then by mean score.
    """
    best: dict = {}
    for tok, score in targets:
        best[tok] = max(score, best.get(tok, float("-inf")))
    if not best:
        return []
    tokens = sorted(best)
    blocks: List[List[int]] = [[tokens[0]]]
    for tok in tokens[1:]:
        if tok - blocks[-1][-1] - 1 <= max_gap:
            blocks[-1].append(tok)
        else:
            blocks.append([tok])
    out = [
        (block[0], block[-1] + 1, sum(best[t] for t in block) / len(block), len(block))
        for block in blocks
    ]
    out.sort(key=lambda b: (-b[3], -b[2], b[0]))
    return out
