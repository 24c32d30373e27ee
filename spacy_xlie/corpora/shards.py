"""Input shards: fixed runs of records that a worker reads on its own, by path.

A shard of a line-based file (``.txt``, ``.jsonl``) is a byte range that starts on a
line boundary, with the number of its first line (errors name ``FILE:LINE``); records
are non-blank lines, ``shard_size`` of them per shard. A shard of a ``.spacy`` file is a
range of doc positions. The plan depends only on the input and ``shard_size``, never on
the number of workers, so the output is the same however many workers run it.

A DocBin cannot be read in part (it is one compressed message), so a job over a
``.spacy`` input has the client cut it once into one small ``.spacy`` file per shard
(:func:`write_docbin_parts`): each worker reads its shard's file, never the whole input.
"""

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

import srsly
from spacy.tokens import DocBin

from ..util.cache import cached
from ..util.io import atomic_path
from .base import load_docbin

#: Where a job keeps the per-shard ``.spacy`` files of its inputs (inside its output
#: directory, which a Dask cluster's workers already share; removed when the job is done).
PARTS_DIR = ".input-parts"

#: DocBin fields holding one entry per doc (what :func:`slice_docbin` cuts).
_PER_DOC = ("tokens", "spaces", "cats", "flags", "span_groups", "user_data")


@dataclass(frozen=True)
class Shard:
    """Records ``[start, stop)`` of ``path``: bytes for line files, doc positions for
    ``.spacy``; ``first_line`` is the line (or doc) number of the first record."""

    index: int
    path: str
    start: int
    stop: int
    first_line: int
    records: int
    #: What else the job needs for this shard (``project``: the source doc of each target).
    data: Tuple[int, ...] = ()
    #: The shard's own ``.spacy`` files by role (``("input", PATH)``; ``project``:
    #: ``"targets"`` and ``"sources"``), written by :func:`write_docbin_parts`.
    parts: Tuple[Tuple[str, str], ...] = ()

    def part(self, role: str) -> Optional[str]:
        """The path of the shard's ``role`` file, if the client wrote one."""
        return dict(self.parts).get(role)

    def name(self, suffix: str) -> str:
        """The output file of this shard, e.g. ``shard-00003.spacy``."""
        return f"shard-{self.index:05d}{suffix}"


def is_docbin(path: Path) -> bool:
    return path.suffix.lower() == ".spacy"


def plan_shards(path: Path, shard_size: int) -> List[Shard]:
    """Shards of ``shard_size`` records each (the last may be shorter)."""
    if shard_size < 1:
        raise ValueError(f"shard size must be at least 1, got {shard_size}")
    if is_docbin(path):
        return _plan_docbin(path, shard_size)
    return _plan_lines(path, shard_size)


def _plan_docbin(path: Path, shard_size: int) -> List[Shard]:
    total = len(load_docbin(path))
    return [Shard(i, str(path), start, min(start + shard_size, total), start + 1,
                  min(shard_size, total - start))
            for i, start in enumerate(range(0, total, shard_size))]


def _plan_lines(path: Path, shard_size: int) -> List[Shard]:
    """One pass over the raw bytes: where every ``shard_size``-th non-blank line starts."""
    starts: List[Tuple[int, int]] = []  # (byte offset, line number) of each shard
    counts: List[int] = []
    offset = 0
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, start=1):
            if raw.strip():
                if not counts or counts[-1] == shard_size:
                    starts.append((offset, line_no))
                    counts.append(0)
                counts[-1] += 1
            offset += len(raw)
    ends = [start for start, _ in starts[1:]] + [offset]
    return [Shard(i, str(path), start, end, line, count)
            for i, ((start, line), end, count) in enumerate(zip(starts, ends, counts))]


def slice_docbin(docbin: DocBin, start: int, stop: int) -> DocBin:
    """Docs ``[start, stop)`` of ``docbin`` as a DocBin of their own, without decoding
    the others (``get_docs`` on the slice builds only these)."""
    return select_docbin(docbin, range(start, stop))


def select_docbin(docbin: DocBin, positions: Sequence[int]) -> DocBin:
    """The docs at ``positions`` (in that order) as a DocBin of their own."""
    part = DocBin(store_user_data=docbin.store_user_data)
    part.attrs = docbin.attrs
    part.strings = docbin.strings
    for name in _PER_DOC:
        values = getattr(docbin, name)
        setattr(part, name, [values[i] if i < len(values) else None for i in positions])
    return part


def docbin_extension(docbin: DocBin, i: int, name: str) -> Optional[Any]:
    """The value of ``doc._.NAME`` of doc ``i``, read from its user data without
    building the doc (e.g. ids for pairing)."""
    data = docbin.user_data[i] if i < len(docbin.user_data) else None
    if data is None:
        return None
    return srsly.msgpack_loads(data, use_list=False).get(("._.", name, None, None))


def write_docbin_parts(shards: Sequence[Shard], directory: Path, role: str,
                       docbin: DocBin, positions: Callable[[Shard], Sequence[int]]
                       ) -> List[Shard]:
    """``shards``, each with the docs at ``positions(shard)`` of ``docbin`` written to its
    own ``DIRECTORY/ROLE-NNNNN.spacy`` (atomically) and listed under ``role``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for shard in shards:
        path = directory / f"{role}-{shard.index:05d}.spacy"
        with atomic_path(path) as tmp:
            select_docbin(docbin, positions(shard)).to_disk(tmp)
        written.append(replace(shard, parts=(*shard.parts, (role, str(path)))))
    return written


def split_docbin_input(shards: Sequence[Shard], output_dir: Path) -> List[Shard]:
    """The shards of a ``.spacy`` input with their docs in files of their own (role
    ``"input"``): the client reads the input once, each worker only its shard."""
    if not shards or not is_docbin(Path(shards[0].path)):
        return list(shards)
    docbin = load_docbin(shards[0].path)
    return write_docbin_parts(shards, output_dir.resolve() / PARTS_DIR, "input", docbin,
                              lambda shard: range(shard.start, shard.stop))


def shard_docbin(shard: Shard, role: str = "input") -> DocBin:
    """The docs of a ``.spacy`` shard: its own file when the client wrote one, else the
    shard's slice of the whole input (a one-process run)."""
    part = shard.part(role)
    if part is not None:
        return load_docbin(part)
    whole = cached("docbin", shard.path, None, lambda: load_docbin(shard.path))
    return slice_docbin(whole, shard.start, shard.stop)
