"""Where the public data sets are found: the local mirror option.

``XLIE_DATA_DIR`` names a folder laid out like the upstream mirror (``kbp37/``, ``relx/``,
``relx-distant/``). Without it, ``../shared/data`` beside the repository is used when it
exists. Nothing here downloads: ``project.yml``'s assets do that.
"""

import os
from pathlib import Path
from typing import Optional

ENV_VAR = "XLIE_DATA_DIR"
_REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Optional[Path]:
    """The local data mirror, or ``None`` when none is configured or present."""
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        return path if path.is_dir() else None
    default = _REPO_ROOT.parent / "shared" / "data"
    return default if default.is_dir() else None
