"""Fetch the project's assets from a local mirror or their public URLs, verified by sha256.

``spacy project assets`` only downloads and only checks MD5. The workflow must also run
offline (CI, benchmarks, this machine) from a local mirror folder laid out like
``../shared/data`` (``kbp37/``, ``relx/``, ``relx-distant/``). Each asset in
``project.yml`` has, besides weasel's ``dest``/``url``/``checksum`` (MD5), a ``sha256``
and a ``mirror`` path (relative to the mirror folder); ``optional: true`` marks files a
run can do without (RELX ES/TR are not in the default mirror): they are skipped with a
warning instead of failing.
"""

import hashlib
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional

import srsly

from .util.io import atomic_path

DOWNLOAD_TIMEOUT_S = 30


class AssetError(RuntimeError):
    """A required asset is missing or corrupt; the message says where it comes from."""


@dataclass
class Asset:
    dest: Path
    url: str
    sha256: str
    mirror: Optional[str]
    optional: bool

    @classmethod
    def from_dict(cls, data: dict, root: Path) -> "Asset":
        return cls(
            dest=root / data["dest"],
            url=data.get("url", ""),
            sha256=data.get("sha256", ""),
            mirror=data.get("mirror"),
            optional=bool(data.get("optional", False)),
        )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_assets(project_yml: Path) -> List[Asset]:
    """The ``assets`` of a spaCy project file, with paths relative to its folder."""
    project_yml = Path(project_yml)
    data = srsly.read_yaml(project_yml)
    return [Asset.from_dict(item, project_yml.parent) for item in data.get("assets", [])]


def _verify(asset: Asset, path: Path, origin: str) -> None:
    if asset.sha256 and sha256_of(path) != asset.sha256:
        raise AssetError(
            f"{asset.dest.name}: checksum mismatch for {origin} (expected sha256 "
            f"{asset.sha256}); the file should be {asset.url}"
        )


def _copy_or_download(asset: Asset, mirror: Optional[Path]) -> str:
    """Place one asset at its destination; return where it came from."""
    mirror_file = mirror / asset.mirror if mirror is not None and asset.mirror else None
    with atomic_path(asset.dest) as tmp:
        if mirror_file is not None and mirror_file.is_file():
            shutil.copyfile(mirror_file, tmp)
            origin = str(mirror_file)
        elif mirror_file is not None:
            raise AssetError(
                f"{asset.dest.name}: not in the mirror ({mirror_file}); it comes from "
                f"{asset.url}"
            )
        else:
            try:
                with urllib.request.urlopen(asset.url, timeout=DOWNLOAD_TIMEOUT_S) as resp:
                    tmp.write_bytes(resp.read())
            except OSError as err:
                raise AssetError(
                    f"{asset.dest.name}: download of {asset.url} failed ({err}); set "
                    "XLIE_DATA_DIR to a local mirror folder that holds it"
                ) from None
            origin = asset.url
        _verify(asset, tmp, origin)
    return origin


def fetch_assets(
    assets: Iterable[Asset], mirror: Optional[Path], log=print
) -> List[Asset]:
    """Fetch every asset not already in place; return the optional ones that were skipped."""
    skipped = []
    for asset in assets:
        if asset.dest.is_file() and (not asset.sha256 or sha256_of(asset.dest) == asset.sha256):
            log(f"ok       {asset.dest} (already there)")
            continue
        try:
            origin = _copy_or_download(asset, mirror)
        except AssetError as err:
            if not asset.optional:
                raise
            log(f"skipped  {asset.dest}: {err}")
            skipped.append(asset)
            continue
        log(f"fetched  {asset.dest} from {origin}")
    return skipped
