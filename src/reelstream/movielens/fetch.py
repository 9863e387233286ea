"""Download a MovieLens zip from GroupLens, verify its checksum, unzip it — all or nothing.

The download and the checksum are pooch's (:func:`pooch.retrieve`): the zip is streamed to a
temporary file and kept only if its MD5 matches the one GroupLens publishes (pinned below; for
``ml-latest-small``, whose content GroupLens may refresh, the ``.zip.md5`` file published next
to the zip is fetched first). Everything happens in a scratch folder beside the destination:
the zip is extracted there and only then renamed to ``DEST/NAME``, so a wrong checksum, a
broken zip or an interrupted download leaves nothing behind but the error.

``base_url`` may be ``https://``, ``http://``, ``ftp://`` (pooch's downloaders) or
``file://`` (a local mirror: tests and offline machines).
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pooch
import requests

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

_MD5_RE = re.compile(r"\b([0-9a-fA-F]{32})\b")
_GOT_RE = re.compile(r"but got ([0-9a-fA-F]+)")


def dataset_url(name: str, base_url: str = BASE_URL) -> str:
    return f"{base_url.rstrip('/')}/{name}.zip"


def parse_md5_file(text: str) -> str:
    """The hex digest in a ``.md5`` file: ``MD5 (x.zip) = <hex>`` or ``<hex>  x.zip``.

    >>> parse_md5_file("MD5 (ml-1m.zip) = C4D9EECFCA2AB87C1945AFE126590906")
    'c4d9eecfca2ab87c1945afe126590906'
    """
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
    # pooch logs each download at INFO; the CLI reports the outcome itself.
    logging.getLogger("pooch").setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory(prefix=f".{name}.", dir=dest) as scratch:
        expected = (md5 or DATASETS[name] or _published_md5(url, scratch, timeout_s)).lower()
        archive = _download(url, expected, scratch, progress=progress, timeout_s=timeout_s)
        extracted = Path(scratch) / "extracted"
        _extract(archive, extracted, url)
        entries = list(extracted.iterdir())
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else extracted
        detect(root)  # refuse a zip that does not hold a MovieLens dataset
        if target.exists():
            shutil.rmtree(target)
        root.rename(target)
    return target


def _downloader(url: str, progress: bool, timeout_s: float) -> Any:
    if urllib.parse.urlsplit(url).scheme == "file":
        return _copy_local_file
    if urllib.parse.urlsplit(url).scheme in ("http", "https"):
        return pooch.HTTPDownloader(progressbar=progress, timeout=timeout_s)
    return pooch.downloaders.choose_downloader(url, progressbar=progress)


def _copy_local_file(url: str, output_file: str, _pooch: object = None) -> None:
    """A pooch downloader for ``file://`` URLs (pooch knows http(s), ftp, sftp and doi)."""
    shutil.copyfile(urllib.request.url2pathname(urllib.parse.urlsplit(url).path), output_file)


def _published_md5(url: str, scratch: str, timeout_s: float) -> str:
    md5_url = f"{url}.md5"
    try:
        path = pooch.retrieve(
            md5_url, known_hash=None, path=scratch, downloader=_downloader(md5_url, False, timeout_s)
        )
        return parse_md5_file(Path(path).read_text("ascii", "replace")[:4096])
    except (requests.RequestException, OSError, ValueError) as exc:
        raise DatasetError(f"cannot read the published checksum {md5_url}: {exc}") from exc


def _download(url: str, md5: str, scratch: str, *, progress: bool, timeout_s: float) -> Path:
    """``url`` into ``scratch``, kept only if its MD5 is ``md5``."""
    try:
        return Path(
            pooch.retrieve(
                url,
                known_hash=f"md5:{md5}",
                fname=url.rsplit("/", 1)[-1],
                path=scratch,
                downloader=_downloader(url, progress, timeout_s),
            )
        )
    except ValueError as exc:  # pooch: the hash does not match (the download is deleted)
        got = _GOT_RE.search(str(exc))
        raise DatasetError(
            f"checksum mismatch for {url}: expected MD5 {md5}, "
            f"got {got.group(1) if got else 'another'}; nothing was extracted"
        ) from exc
    except (requests.RequestException, OSError) as exc:
        raise DatasetError(f"download of {url} failed: {exc}") from exc


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
