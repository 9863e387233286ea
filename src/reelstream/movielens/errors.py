"""The one error the MovieLens code raises for bad input."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DatasetError"]


class DatasetError(ValueError):
    """A dataset file is missing, malformed or fails its checksum.

    The message names the file and, for a malformed row, its 1-based line number
    (``ratings.csv, line 17: rating 'abc' is not a number``). ``path`` and ``line`` are kept
    as attributes for callers that want them.
    """

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        self.path = Path(path) if path is not None else None
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}, line {line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")
