"""Peak memory of this process, measured the way that survives ``spawn``."""

import resource


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB. ``VmHWM`` where Linux has it:
    ``ru_maxrss`` survives ``exec``, so a spawned worker or benchmark process would report
    its parent's peak when that was higher."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
