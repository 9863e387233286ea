"""One worker's contribution to the item state over one batch, and its wire format."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ItemDelta"]


@dataclass
class ItemDelta:
    """What ``publisher``'s events changed on the item side since its previous delta.

    Movies are named by id (each worker has its own row order). ``factor_deltas[i]`` and
    ``bias_deltas[i]`` are the changes of movie ``movie_ids[i]``; the events themselves
    (``event_movies``, ``event_ratings``, in order) carry the counts and rating sums, and
    ``recent_ids`` split by ``recent_lengths`` the rater's previous movies (most recent last)
    from which the transition links are rebuilt.
    """

    publisher: str
    sequence: int  # the publisher's count of deltas: gaps or repeats are visible
    movie_ids: np.ndarray
    factor_deltas: np.ndarray  # (len(movie_ids), k) float64
    bias_deltas: np.ndarray
    event_movies: np.ndarray
    event_ratings: np.ndarray
    recent_lengths: np.ndarray
    recent_ids: np.ndarray
    created_at: float = 0.0  # publisher's wall clock (seconds), for staleness figures
    extra: dict = field(default_factory=dict)

    @property
    def events(self) -> int:
        return len(self.event_movies)

    def to_bytes(self) -> bytes:
        """A small header (JSON) and the arrays' raw bytes; factor deltas as float32
        (their rounding, ~1e-7 relative, is far below what one SGD step changes)."""
        arrays = [
            self.movie_ids.astype("<i8"),
            self.factor_deltas.astype("<f4"),
            self.bias_deltas.astype("<f8"),
            self.event_movies.astype("<i8"),
            self.event_ratings.astype("<f4"),
            self.recent_lengths.astype("<i1"),
            self.recent_ids.astype("<i8"),
        ]
        header = json.dumps({
            "publisher": self.publisher,
            "sequence": self.sequence,
            "created_at": self.created_at,
            "k": int(self.factor_deltas.shape[1]) if self.factor_deltas.ndim == 2 else 0,
            "sizes": [a.nbytes for a in arrays],
        }).encode()
        return b"".join([struct.pack("<I", len(header)), header, *(a.tobytes() for a in arrays)])

    @classmethod
    def from_bytes(cls, data: bytes) -> ItemDelta:
        (size,) = struct.unpack_from("<I", data)
        header = json.loads(data[4 : 4 + size])
        offset = 4 + size
        parts = []
        for nbytes, dtype in zip(header["sizes"], _DTYPES, strict=True):
            parts.append(np.frombuffer(data, dtype=dtype, count=nbytes // np.dtype(dtype).itemsize, offset=offset))
            offset += nbytes
        movie_ids, factors, biases, event_movies, event_ratings, lengths, recent = parts
        return cls(
            publisher=header["publisher"],
            sequence=header["sequence"],
            movie_ids=movie_ids,
            factor_deltas=factors.astype(np.float64).reshape(len(movie_ids), header["k"]),
            bias_deltas=biases,
            event_movies=event_movies,
            event_ratings=event_ratings.astype(np.float64),
            recent_lengths=lengths.astype(np.int64),
            recent_ids=recent,
            created_at=header["created_at"],
        )


_DTYPES = ("<i8", "<f4", "<f8", "<i8", "<f4", "<i1", "<i8")
