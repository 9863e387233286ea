"""One worker's contribution to the item state over one batch, and its wire format."""

from __future__ import annotations

import io
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
        buf = io.BytesIO()
        np.savez(
            buf,
            publisher=np.array(self.publisher),
            header=np.array([self.sequence, self.created_at], dtype=np.float64),
            movie_ids=self.movie_ids.astype(np.int64),
            factor_deltas=self.factor_deltas.astype(np.float64),
            bias_deltas=self.bias_deltas.astype(np.float64),
            event_movies=self.event_movies.astype(np.int64),
            event_ratings=self.event_ratings.astype(np.float64),
            recent_lengths=self.recent_lengths.astype(np.int64),
            recent_ids=self.recent_ids.astype(np.int64),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ItemDelta:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            sequence, created_at = z["header"].tolist()
            return cls(
                publisher=str(z["publisher"]),
                sequence=int(sequence),
                movie_ids=z["movie_ids"],
                factor_deltas=z["factor_deltas"],
                bias_deltas=z["bias_deltas"],
                event_movies=z["event_movies"],
                event_ratings=z["event_ratings"],
                recent_lengths=z["recent_lengths"],
                recent_ids=z["recent_ids"],
                created_at=created_at,
            )
