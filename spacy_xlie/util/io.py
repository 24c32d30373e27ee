"""Atomic output: a failed run never leaves a half-written file where a good one was."""

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Union

import srsly
from spacy.tokens import Doc, DocBin

PathLike = Union[str, Path]


def current_umask() -> int:
    """The process's umask (reading it means setting it: set it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.
    A folder at ``path`` is refused before anything is written: the rename at the end
    would fail on it, after the whole output had been made."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a folder is in the way of the output file",
                                str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes the file private (0600); the output gets the mode ``open`` would give
    # it, so the other users of a shared file system (Dask workers) can read it.
    os.chmod(tmp_path, 0o666 & ~current_umask())
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_directory(path: PathLike) -> Iterator[Path]:
    """Yield a new empty folder beside ``path``; on success it takes the place of ``path``
    (a folder or nothing), otherwise it is removed and ``path`` stays as it was. The old
    folder is moved aside before the new one is renamed into place, so ``path`` is never
    left half-written, and put back if that rename fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    # mkdtemp makes the folder private (0700): give it the mode ``mkdir`` would
    os.chmod(tmp, 0o777 & ~current_umask())
    aside = tmp.with_suffix(".old")
    try:
        yield tmp
        if path.exists():
            os.replace(path, aside)
        try:
            os.replace(tmp, path)
        except OSError:
            if aside.exists():
                os.replace(aside, path)
            raise
    finally:
        for leftover in (tmp, aside):
            if leftover.exists():
                shutil.rmtree(leftover)


def write_docbin(docs: Iterable[Doc], path: PathLike) -> int:
    """Write docs (entities, spans, relations and ids) to a ``.spacy`` file atomically."""
    docbin = DocBin(store_user_data=True)
    count = 0
    for doc in docs:
        docbin.add(doc)
        count += 1
    with atomic_path(path) as tmp:
        docbin.to_disk(tmp)
    return count


def write_jsonl(records: Iterable[dict], path: PathLike) -> int:
    """Write JSON lines atomically; returns the number of records."""
    count = 0

    def counted() -> Iterator[dict]:
        nonlocal count
        for rec in records:
            count += 1
            yield rec

    with atomic_path(path) as tmp:
        srsly.write_jsonl(tmp, counted())
    return count


def write_json(data: object, path: PathLike) -> None:
    """Write one JSON document atomically (reports, metrics)."""
    with atomic_path(path) as tmp:
        srsly.write_json(tmp, data)


def write_text(text: str, path: PathLike) -> None:
    """Write a text file atomically (Markdown reports)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf8")
