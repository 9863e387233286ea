"""Which ``params.yaml`` a command uses: the defaults shipped in the package, unless told.

The hyper-parameters decide the model, so they never depend on the folder a command runs
from: ``--params PATH`` (the ``reelstream`` option) or ``REELSTREAM_PARAMS`` name another
file, which must then exist; otherwise the copy inside the package is used (the repository's
``params.yaml``, which DVC tracks, is a link to that same file).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

__all__ = ["PACKAGED_PARAMS", "ParamsNotFound", "resolve_params", "params_source", "read_section"]

PACKAGED_PARAMS = Path(__file__).resolve().with_name("params.yaml")


class ParamsNotFound(FileNotFoundError):
    """A parameters file was named (flag or ``REELSTREAM_PARAMS``) and is not there."""


def _named(explicit: Path | str | None) -> tuple[Path | None, str]:
    if explicit:
        return Path(explicit), "given"
    from_env = os.environ.get("REELSTREAM_PARAMS")
    if from_env:
        return Path(from_env), "REELSTREAM_PARAMS"
    return None, "packaged defaults"


def resolve_params(explicit: Path | str | None = None) -> Path:
    """The parameters file: ``explicit`` > ``REELSTREAM_PARAMS`` > the packaged defaults.

    A named file that does not exist raises :class:`ParamsNotFound` (never a silent
    fallback to defaults).
    """
    path, source = _named(explicit)
    if path is None:
        return PACKAGED_PARAMS
    path = path.expanduser().absolute()
    if not path.is_file():
        raise ParamsNotFound(f"parameters file {path} ({source}) does not exist")
    return path


def params_source(explicit: Path | str | None = None) -> str:
    """Where :func:`resolve_params` takes its answer from, for the start-up line."""
    return _named(explicit)[1]


def read_section(name: str, explicit: Path | str | None = None) -> dict[str, Any]:
    """One top-level section (``online``, ``batch``) of the parameters file, ``{}`` if absent."""
    text = resolve_params(explicit).read_text()
    return dict((yaml.safe_load(text) or {}).get(name) or {})
