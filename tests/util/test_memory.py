"""peak_rss_mb: a spawned process reports its own peak, not its parent's."""

import multiprocessing

from spacy_xlie.util.memory import peak_rss_mb


def _report(queue) -> None:
    queue.put(peak_rss_mb())


def test_a_spawned_process_does_not_inherit_the_parents_peak():
    ballast = bytearray(400 * 1024 * 1024)  # 400 MB touched by the parent
    ballast[::4096] = b"x" * len(ballast[::4096])
    parent = peak_rss_mb()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_report, args=(queue,))
    child.start()
    child_peak = queue.get(timeout=120)
    child.join()
    del ballast
    assert child_peak < parent - 300
