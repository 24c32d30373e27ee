"""spacy_xlie.util.memory: a spawned process reports its own peak, not its parent's; the
peak can be reset to measure one step; a fresh process's errors reach the caller; resident
memory splits into what the process allocated and the mapped files' pages."""

import mmap
import os

import pytest

from spacy_xlie.util.memory import (
    current_rss_mb,
    in_fresh_process,
    peak_rss_mb,
    reset_peak_rss,
    rss_by_kind_mb,
)


def _pid_and_peak() -> tuple:
    return os.getpid(), peak_rss_mb()


def _fail() -> None:
    raise ValueError("from the worker")


def _touched_anonymous_memory(mb: int) -> mmap.mmap:
    """``mb`` MB of fresh anonymous pages, every page written: a private mapping of its own
    (a shared one counts as ``RssShmem``), not a ``bytearray``, which the allocator may
    serve from freed pages that are resident already, so that RSS does not grow (a CI
    machine's ``RssAnon`` stayed the same after a 64 MB bytearray was written)."""
    memory = mmap.mmap(-1, mb * 1024 * 1024, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for offset in range(0, len(memory), mmap.PAGESIZE):
        memory[offset] = 1
    return memory


def test_a_spawned_process_does_not_inherit_the_parents_peak():
    ballast = _touched_anonymous_memory(400)  # 400 MB touched by the parent
    parent = peak_rss_mb()
    child_pid, child_peak = in_fresh_process(_pid_and_peak)
    ballast.close()
    assert child_pid != os.getpid()
    assert child_peak < parent - 300


def test_an_error_in_the_fresh_process_is_raised_here():
    with pytest.raises(ValueError, match="from the worker"):
        in_fresh_process(_fail)


def test_reset_peak_rss_forgets_an_earlier_peak():
    _touched_anonymous_memory(300).close()
    before_reset = peak_rss_mb()
    reset_peak_rss()
    assert peak_rss_mb() < before_reset - 200
    assert abs(peak_rss_mb() - current_rss_mb()) < 50


def test_rss_by_kind_tells_allocated_memory_from_mapped_file_pages(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"x" * (64 * 1024 * 1024))
    before = rss_by_kind_mb()
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        sum(mapped[i] for i in range(0, len(mapped), 4096))  # every page read
        mapped_file = rss_by_kind_mb()
    with _touched_anonymous_memory(64):
        allocated = rss_by_kind_mb()
    assert mapped_file["file"] - before["file"] > 50
    assert mapped_file["anon"] - before["anon"] < 20
    assert allocated["anon"] - mapped_file["anon"] > 50
