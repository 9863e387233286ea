"""Download a MovieLens zip from GroupLens, verify its checksum, unzip it — all or nothing.

The zip is streamed to a ``.part`` file beside the destination while its MD5 is computed,
compared with the checksum GroupLens publishes (pinned below; for ``ml-latest-small``, whose
content GroupLens may refresh, the ``.zip.md5`` file published next to the zip is fetched),
extracted into a temporary folder and only then renamed to ``DEST/NAME``. A wrong checksum, a
broken zip or an interrupted download leaves nothing behind but the error.

Any URL ``urllib`` opens works as ``base_url`` (``https://``, ``http://``, ``file://``), which
is how tests and offline machines use a local copy of the zips.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from tqdm import tqdm

from reelstream.movielens.errors import DatasetError
from reelstream.movielens.loaders import detect

__all__ = ["BASE_URL", "DATASETS", "fetch", "resolve_dataset", "dataset_url", "parse_md5_file"]

BASE_URL = "https://files.grouplens.org/datasets/movielens"

#: Published MD5 of each zip (GroupLens' ``{name}.zip.md5``); None = read that file at fetch.
DATASETS: dict[str, str | None] = {
    "ml-latest-small": None,
    "ml-25m": "6b51fb2759a8657d3bfcbfc42b592ada",
    "ml-100k": "0e33842e24a9c977be4e0107933c0723",
    "ml-1m": "c4d9eecfca2ab87c1945afe126590906",
}

_CHUNK = 1 << 16
_MD5_RE = re.compile(r"\b([0-9a-fA-F]{32})\b")


def dataset_url(name: str, base_url: str = BASE_URL) -> str:
    return f"{base_url.rstrip('/')}/{name}.zip"


def parse_md5_file(text: str) -> str:
    """The hex digest in a ``.md5`` file: ``MD5 (x.zip) = <hex>`` or ``<hex>  x.zip``."""
    match = _MD5_RE.search(text)
    if match is None:
        raise ValueError(f"no MD5 digest in {text[:100]!r}")
    return match.group(1).lower()


def fetch(
    name: str,
    dest_dir: Path | str,
    *,
    base_url: str = BASE_URL,
    md5: str | None = None,
    force: bool = False,
    progress: bool = True,
    timeout_s: float = 60.0,
) -> Path:
    """Make ``DEST_DIR/NAME`` hold the verified dataset and return that folder.

    An existing, loadable ``DEST_DIR/NAME`` is returned as is unless ``force``. ``md5``
    overrides the expected checksum (default: :data:`DATASETS`, else the published ``.md5``).
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    dest = Path(dest_dir).expanduser()
    target = dest / name
    if target.exists() and not force:
        try:
            detect(target)
            return target
        except DatasetError:
            pass  # an unusable leftover: replace it
    dest.mkdir(parents=True, exist_ok=True)
    url = dataset_url(name, base_url)
    expected = (md5 or DATASETS[name] or _published_md5(url, timeout_s)).lower()

    with tempfile.TemporaryDirectory(prefix=f".{name}.", dir=dest) as scratch:
        archive = Path(scratch) / f"{name}.zip"
        actual = _download(url, archive, progress=progress, timeout_s=timeout_s)
        if actual != expected:
            raise DatasetError(
                f"checksum mismatch for {url}: expected MD5 {expected}, got {actual}; "
                "nothing was extracted"
            )
        extracted = Path(scratch) / "extracted"
        _extract(archive, extracted, url)
        entries = list(extracted.iterdir())
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else extracted
        detect(root)  # refuse a zip that does not hold a MovieLens dataset
        if target.exists():
            shutil.rmtree(target)
        root.rename(target)
    return target


def _published_md5(url: str, timeout_s: float) -> str:
    md5_url = f"{url}.md5"
    try:
        with urllib.request.urlopen(md5_url, timeout=timeout_s) as response:
            return parse_md5_file(response.read(4096).decode("ascii", "replace"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DatasetError(f"cannot read the published checksum {md5_url}: {exc}") from exc


def _download(url: str, target: Path, *, progress: bool, timeout_s: float) -> str:
    """Stream ``url`` into ``target``; return the MD5 hex digest of what was written."""
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            total = response.headers.get("Content-Length")
            with (
                target.open("wb") as out,
                tqdm(
                    total=int(total) if total and total.isdigit() else None,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=target.name,
                    disable=not progress,
                ) as bar,
            ):
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError) as exc:
        raise DatasetError(f"download of {url} failed: {exc}") from exc
    return digest.hexdigest()


def _extract(archive: Path, folder: Path, url: str) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise DatasetError(f"corrupt member {bad!r} in {url}")
            for member in zf.namelist():  # never write outside the folder
                if member.startswith(("/", "\\")) or ".." in Path(member).parts:
                    raise DatasetError(f"unsafe path {member!r} in {url}")
            zf.extractall(folder)
    except zipfile.BadZipFile as exc:
        raise DatasetError(f"{url} is not a valid zip: {exc}") from exc


def resolve_dataset(
    name: str,
    *,
    path: Path | str | None = None,
    dest_dir: Path | str | None = None,
    settings: object | None = None,
    progress: bool = True,
) -> Path:
    """The folder of dataset ``name``: a local copy when one is given, else downloaded.

    Order: ``path`` (e.g. ``--path``), then ``settings.movielens_path``, then
    :func:`fetch` into ``dest_dir`` (default ``settings.data_dir / "raw"``). A local copy is
    checked to hold a known layout, not re-hashed (there is no zip to hash).
    """
    local = path if path is not None else getattr(settings, "movielens_path", None)
    if local is not None:
        folder, _ = detect(local)
        return folder
    if dest_dir is None:
        data_dir = getattr(settings, "data_dir", None) or Path("data")
        dest_dir = Path(data_dir) / "raw"
    return fetch(name, dest_dir, progress=progress)
