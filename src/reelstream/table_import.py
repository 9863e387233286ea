"""Ratings and movies from your own files (CSV or Parquet), any column names.

A mapping names the file's column for each field (``{"user_id": "customer"}``); fields not
mapped are looked up under their own name. Ratings become the replay's table (``user_id,
movie_id, rating, timestamp``: unix seconds, or any date-time the file holds); movies the
catalogue's (``movie_id, title, genres, year``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

__all__ = ["RATING_FIELDS", "MOVIE_FIELDS", "ImportError_", "parse_mapping", "read_table",
           "ratings_table", "movies_table"]

RATING_FIELDS = ("user_id", "movie_id", "rating", "timestamp")
MOVIE_FIELDS = ("movie_id", "title", "genres", "year")
_OPTIONAL = {"genres", "year"}


class ImportError_(ValueError):  # noqa: N801 - "ImportError" is a builtin
    """The file cannot be read as asked (missing column, unknown format, bad values)."""


def parse_mapping(pairs: list[str], fields: tuple[str, ...]) -> dict[str, str]:
    """``["user_id=customer", ...]`` (also comma-separated) as ``{field: column}``.

    >>> parse_mapping(["user_id=customer,rating=stars"], RATING_FIELDS)
    {'user_id': 'customer', 'rating': 'stars'}
    """
    mapping = {}
    for pair in (p for item in pairs for p in item.split(",") if p.strip()):
        field, sep, column = pair.partition("=")
        field, column = field.strip(), column.strip()
        if not sep or not column:
            raise ImportError_(f"mapping {pair!r}: write FIELD=COLUMN")
        if field not in fields:
            raise ImportError_(f"mapping {pair!r}: {field!r} is not one of {', '.join(fields)}")
        mapping[field] = column
    return mapping


def read_table(path: Path, delimiter: str = ",") -> pd.DataFrame:
    """A CSV (any delimiter) or Parquet file, chosen by its suffix."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".csv", ".tsv", ".txt", ".dat"):
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else delimiter)
    raise ImportError_(f"{path}: unknown format {suffix!r} (CSV or Parquet)")


def _columns(frame: pd.DataFrame, mapping: Mapping[str, str], fields: tuple[str, ...],
             source: str) -> dict[str, str]:
    chosen = {field: mapping.get(field, field) for field in fields}
    missing = [f"{field} (column {column!r})" for field, column in chosen.items()
               if column not in frame.columns and field not in _OPTIONAL]
    if missing:
        raise ImportError_(f"{source}: no column for {', '.join(missing)}; columns are "
                           f"{', '.join(map(str, frame.columns))} (map them with --map)")
    return {f: c for f, c in chosen.items() if c in frame.columns}


def ratings_table(frame: pd.DataFrame, mapping: Mapping[str, str],
                  time_unit: str = "s", source: str = "ratings") -> pd.DataFrame:
    """The replay's ratings table; ``time_unit``: ``s``/``ms`` (epoch numbers) or ``iso``."""
    columns = _columns(frame, mapping, RATING_FIELDS, source)
    out = pd.DataFrame({f: frame[c] for f, c in columns.items()})
    try:
        out["user_id"] = pd.to_numeric(out["user_id"], downcast=None).astype("int64")
        out["movie_id"] = pd.to_numeric(out["movie_id"]).astype("int64")
        out["rating"] = pd.to_numeric(out["rating"]).astype("float64")
        stamps = out["timestamp"]
        if time_unit == "iso" or pd.api.types.is_datetime64_any_dtype(stamps):
            out["timestamp"] = pd.to_datetime(stamps, utc=True)
        elif time_unit in ("s", "ms"):
            seconds = pd.to_numeric(stamps).astype("int64")
            out["timestamp"] = seconds // 1000 if time_unit == "ms" else seconds
        else:
            raise ImportError_(f"time unit {time_unit!r}: use s, ms or iso")
    except (ValueError, TypeError) as exc:
        raise ImportError_(f"{source}: {exc}") from exc
    return out


def movies_table(frame: pd.DataFrame, mapping: Mapping[str, str], genres_separator: str = "|",
                 source: str = "movies") -> pd.DataFrame:
    """The catalogue's movies table (genres as lists; year missing when not given)."""
    columns = _columns(frame, mapping, MOVIE_FIELDS, source)
    try:
        ids = pd.to_numeric(frame[columns["movie_id"]]).astype("int64")
    except (ValueError, TypeError) as exc:
        raise ImportError_(f"{source}: movie_id: {exc}") from exc
    titles = frame[columns["title"]].astype(str).str.strip()
    if "genres" in columns:
        genres = [[g.strip() for g in str(v).split(genres_separator) if g.strip()]
                  if pd.notna(v) else [] for v in frame[columns["genres"]]]
    else:
        genres = [[] for _ in range(len(frame))]
    years = (pd.to_numeric(frame[columns["year"]], errors="coerce").astype("Int64")
             if "year" in columns else pd.Series([pd.NA] * len(frame), dtype="Int64"))
    return pd.DataFrame({"movie_id": ids, "title": titles, "genres": genres, "year": years})
