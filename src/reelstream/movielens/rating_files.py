"""The ratings file of any layout: a fast pandas read, and a line scan that names the first
bad line when the fast read fails or finds a value out of range."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from reelstream.movielens.errors import DatasetError
from reelstream.movielens.layouts import RATING_COLUMNS, Layout
from reelstream.movielens.lines import MAX_ID, parse_id, rows

__all__ = ["read_ratings"]


def read_ratings(folder: Path, layout: Layout) -> pd.DataFrame:
    file = folder / layout.ratings_file
    if layout.header is not None:
        _check_header(file, layout)
    try:
        frame = _read_fast(file, layout)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise (_scan_ratings(file, layout) or DatasetError(str(exc), file)) from exc
    if _has_invalid_values(frame):
        raise _scan_ratings(file, layout) or DatasetError("invalid rating values", file)
    return pd.DataFrame(
        {
            "user_id": frame["user_id"].to_numpy(np.int32),
            "movie_id": frame["movie_id"].to_numpy(np.int32),
            "rating": frame["rating"].to_numpy(np.float32),
            "timestamp": frame["timestamp"].to_numpy(np.int64),
        }
    )


def _read_fast(file: Path, layout: Layout) -> pd.DataFrame:
    source: Path | io.StringIO = file
    sep, encoding = layout.sep, layout.encoding
    if sep == "::":  # a multi-char separator forces pandas' slow python engine: swap it
        source = io.StringIO(file.read_text(encoding).replace("::", "\x1f"))
        sep = "\x1f"
    return pd.read_csv(
        source,
        sep=sep,
        header=0 if layout.header is not None else None,
        names=RATING_COLUMNS,
        dtype={"user_id": "int64", "movie_id": "int64", "rating": "float64", "timestamp": "int64"},
        encoding=encoding,
        engine="c",
        skip_blank_lines=False,  # a blank line is malformed too (found by the scan)
        quoting=csv.QUOTE_NONE if layout.header is None else csv.QUOTE_MINIMAL,
    )


def _has_invalid_values(frame: pd.DataFrame) -> bool:
    users, movies = frame["user_id"].to_numpy(), frame["movie_id"].to_numpy()
    rating, ts = frame["rating"].to_numpy(), frame["timestamp"].to_numpy()
    bad = (
        (users < 1)
        | (users > MAX_ID)
        | (movies < 1)
        | (movies > MAX_ID)
        | ~np.isfinite(rating)
        | (rating < 0.5)
        | (rating > 5.0)
        | (rating * 2 != np.round(rating * 2))
        | (ts < 0)
    )
    return bool(bad.any())


def _check_header(file: Path, layout: Layout) -> None:
    with file.open("r", encoding=layout.encoding, errors="replace", newline="") as f:
        first = f.readline().strip()
    expected = layout.sep.join(layout.header or ())
    if first != expected:
        raise DatasetError(f"expected the header {expected!r}, found {first[:80]!r}", file, 1)


def _rating(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"rating {text!r} is not a number") from None
    if not (math.isfinite(value) and 0.5 <= value <= 5.0 and value * 2 == round(value * 2)):
        raise ValueError(f"rating {text!r} is not in 0.5..5.0 in steps of 0.5")
    return value


def _timestamp(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"timestamp {text!r} is not an integer (epoch seconds)") from None
    if value < 0:
        raise ValueError(f"timestamp {value} is negative")
    return value


_RATING_PARSERS = (parse_id("user id"), parse_id("movie id"), _rating, _timestamp)


def _scan_ratings(file: Path, layout: Layout) -> DatasetError | None:
    """Find the first malformed line (slow path, only run after the fast path failed)."""
    try:
        for lineno, fields in rows(file, layout.sep, layout.encoding, csv_quoting=layout.header is not None):
            if lineno == 1 and layout.header is not None:
                continue
            if len(fields) != len(_RATING_PARSERS):
                return DatasetError(
                    f"expected {len(_RATING_PARSERS)} fields, found {len(fields)}", file, lineno
                )
            for parse, text in zip(_RATING_PARSERS, fields, strict=True):
                try:
                    parse(text.strip())
                except ValueError as exc:
                    return DatasetError(str(exc), file, lineno)
    except DatasetError as exc:
        return exc
    return None
