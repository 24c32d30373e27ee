"""Memory of this process: its peak, measured the way that survives ``spawn``, and what it
holds now (Linux ``/proc``), for the benchmarks that report what a step costs."""

import multiprocessing
import resource
from typing import Any, Callable, Dict, Optional


def _status_mb(field: str) -> Optional[float]:
    """A memory field of ``/proc/self/status`` (``VmHWM``, ``VmRSS``) in MB; None where
    Linux's ``/proc`` is not there."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(f"{field}:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB. ``VmHWM`` where Linux has it:
    ``ru_maxrss`` survives ``exec``, so a spawned worker or benchmark process would report
    its parent's peak when that was higher."""
    peak = _status_mb("VmHWM")
    if peak is None:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return peak


def current_rss_mb() -> float:
    """Resident memory now in MB (Linux ``VmRSS``; NaN where there is none)."""
    rss = _status_mb("VmRSS")
    return float("nan") if rss is None else rss


def rss_by_kind_mb() -> Dict[str, Optional[float]]:
    """Resident memory now in MB by kind (Linux ``RssAnon``, ``RssFile``; None where there
    is none): ``anon``, what the process allocated; ``file``, pages of mapped files (the
    libraries, a mapped weights file), which the kernel can drop and read back."""
    return {"anon": _status_mb("RssAnon"), "file": _status_mb("RssFile")}


def reset_peak_rss() -> None:
    """Set this process's peak (``VmHWM``) to its current RSS (Linux 4.0+), so that
    :func:`peak_rss_mb` then reports the peak of what follows."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def in_fresh_process(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a newly spawned process, its return value back: what it
    measures with :func:`peak_rss_mb` is its own, not this process's; an exception it
    raises is raised here (a worker that dies does not leave the caller waiting)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)
