"""Reading a MovieLens file line by line, for the checks that name the first bad line."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

from reelstream.movielens.errors import DatasetError

__all__ = ["MAX_ID", "parse_id", "rows", "decoded"]

MAX_ID = 2**31 - 1


def parse_id(name: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{name} {text!r} is not an integer") from None
        if not 1 <= value <= MAX_ID:
            raise ValueError(f"{name} {value} is out of range (1..{MAX_ID})")
        return value

    return parse


def rows(
    file: Path, sep: str, encoding: str, *, csv_quoting: bool
) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of every line; blank lines are malformed too."""
    with file.open("rb") as raw:
        lines = decoded(raw, file, encoding)
        if csv_quoting:
            reader = csv.reader(lines, delimiter=sep, strict=True)
            try:
                for fields in reader:
                    if not fields:
                        raise DatasetError("empty line", file, reader.line_num)
                    yield reader.line_num, fields
            except csv.Error as exc:
                raise DatasetError(f"malformed CSV ({exc})", file, reader.line_num) from None
        else:
            for lineno, line in enumerate(lines, 1):
                text = line.rstrip("\r\n")
                if not text:
                    raise DatasetError("empty line", file, lineno)
                yield lineno, text.split(sep)


def decoded(raw: io.BufferedReader, file: Path, encoding: str) -> Iterator[str]:
    for lineno, line in enumerate(raw, 1):
        try:
            yield line.decode(encoding)
        except UnicodeDecodeError as exc:
            raise DatasetError(f"not valid {encoding} text ({exc.reason})", file, lineno) from None
