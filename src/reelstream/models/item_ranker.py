"""The nightly ranker: EASE over a recency-weighted history + what people rate next + popularity.

For a user whose rated movies (oldest first) have ages ``a`` (0 = the newest):

* ``s_ease = w B`` with ``w = 0.5 ** (a / history_halflife)`` — the newest ratings say most
  about the next ones (the held-out ratings are each user's latest);
* ``s_seq = l T`` with ``l = 0.5 ** (a / transition_halflife)`` over the transition matrix
  (:mod:`reelstream.models.sequence`);
* ``score = z(s_ease) + transition_weight · z(s_seq) + popularity_weight · z(log1p(pop))``,
  ``z`` standardising over the catalogue per user so the weights mean the same for everyone.

Every term except popularity is a sum over the user's rated movies, so the score of a movie
splits exactly into one part per rated movie: :meth:`ItemRanker.explain` returns those parts,
the reason shown next to a recommendation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["ItemRanker", "RankerWeights", "history_matrix", "top_shares",
           "top_shares_of_columns"]


@dataclass(frozen=True)
class RankerWeights:
    history_halflife: float = 5.0
    transition_weight: float = 0.25
    transition_halflife: float = 1.0
    popularity_weight: float = 0.0


def history_matrix(
    orders: list[np.ndarray], n_items: int, halflife: float
) -> sp.csr_matrix:
    """Users × movies, each rated movie weighted ``0.5 ** (age / halflife)`` (halflife 0: 1)."""
    lengths = np.array([len(o) for o in orders], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    cols = np.concatenate(orders).astype(np.int64) if orders else np.zeros(0, np.int64)
    age = (np.concatenate([np.arange(n - 1, -1, -1) for n in lengths]).astype(np.float64)
           if orders else cols.astype(np.float64))
    data = _age_weights(age, halflife)
    out = sp.csr_matrix((data.astype(np.float32), cols, indptr), shape=(len(orders), n_items))
    out.sum_duplicates()
    return out


def top_shares(parts: np.ndarray, sources: np.ndarray, top: int) -> list[tuple[int, float]]:
    """Up to ``top`` ``(source, share)`` pairs, largest first: each source's positive part
    over the sum of all positive parts (a source listed twice has its parts added).

    >>> top_shares(np.array([0.3, -1.0, 0.1, 0.6]), np.array([7, 8, 9, 7]), top=2)
    [(7, 0.9), (9, 0.1)]
    """
    return top_shares_of_columns(np.asarray(parts)[:, None], sources, top)[0]


def top_shares_of_columns(
    parts: np.ndarray, sources: np.ndarray, top: int
) -> list[list[tuple[int, float]]]:
    """:func:`top_shares` of each column of ``parts`` (one row per source), at once: a list
    of 20 movies explained over a 50-movie history is one sort, not 1,000 Python steps.
    Ties go to the smaller source id."""
    sources = np.asarray(sources)
    order = np.argsort(sources, kind="stable")
    unique = sources[order]
    if unique.size > 1 and not (unique[1:] != unique[:-1]).all():
        unique, where = np.unique(sources, return_inverse=True)
        summed = np.zeros((unique.size, parts.shape[1]))
        np.add.at(summed, where.ravel(), parts)
    else:  # no source listed twice (a user's history): a reordering, no sums
        summed = np.asarray(parts, dtype=np.float64)[order]
    positive = np.maximum(summed, 0.0)
    total = positive.sum(axis=0)
    best = np.argsort(-positive, axis=0, kind="stable")[:top]  # unique is sorted: ties by id
    chosen = positive[best, np.arange(positive.shape[1])]
    shares = np.round(chosen / np.where(total > 0, total, 1.0), 4)
    return [
        [(m, s) for m, s, kept in zip(ids, column, shown, strict=True) if kept]
        for ids, column, shown in zip(unique[best].T.tolist(), shares.T.tolist(),
                                      (chosen > 0).T.tolist(), strict=True)
    ]


def _age_weights(age: np.ndarray, halflife: float) -> np.ndarray:
    return 0.5 ** (age / halflife) if halflife > 0 else np.ones_like(age)


def _standardise(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True) + 1e-12
    return (scores - mean) / std, mean, std


@dataclass
class ItemRanker:
    """Fitted item-item matrices plus the weights that blend them (all arrays: ``.npz``-able)."""

    ease: sp.csr_matrix  # n_items × n_items
    transitions: sp.csr_matrix | None
    popularity: np.ndarray  # (n_items,) training counts
    weights: RankerWeights

    @property
    def n_items(self) -> int:
        return int(self.ease.shape[0])

    def _pop_z(self) -> np.ndarray:
        pop = np.log1p(np.asarray(self.popularity, dtype=np.float64))
        return (pop - pop.mean()) / (pop.std() + 1e-12)

    def _terms(self, orders: list[np.ndarray]):
        w = self.weights
        ease = np.asarray((history_matrix(orders, self.n_items, w.history_halflife)
                           @ self.ease).todense(), dtype=np.float64)
        ease_z, _, ease_std = _standardise(ease)
        seq_z = seq_std = None
        if self.transitions is not None and w.transition_weight:
            seq = np.asarray((history_matrix(orders, self.n_items, w.transition_halflife)
                              @ self.transitions).todense(), dtype=np.float64)
            seq_z, _, seq_std = _standardise(seq)
        return ease_z, ease_std, seq_z, seq_std

    def scores(self, orders: list[np.ndarray]) -> np.ndarray:
        """Scores of every movie (by column) for each history in ``orders`` (oldest first)."""
        ease_z, _, seq_z, _ = self._terms(orders)
        out = ease_z
        if seq_z is not None:
            out += self.weights.transition_weight * seq_z
        if self.weights.popularity_weight:
            out += self.weights.popularity_weight * self._pop_z()
        return out

    def contributions(self, history: np.ndarray, items: np.ndarray) -> np.ndarray:
        """``parts[h, j]``: how much the ``h``-th rated movie adds to the score of ``items[j]``.

        A rated movie's part is its weight times its link to the movie, scaled as the blend
        scales that term; the parts of a movie sum to its score up to a constant shared by all
        movies (the per-user means) and the popularity term.
        """
        history = np.asarray(history, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        w = self.weights
        _, ease_std, seq_z, seq_std = self._terms([history])
        age = np.arange(history.size - 1, -1, -1, dtype=np.float64)
        parts = (_age_weights(age, w.history_halflife)[:, None]
                 * self.ease[history][:, items].toarray() / ease_std[0, 0])
        if seq_z is not None:
            parts += (w.transition_weight * _age_weights(age, w.transition_halflife)[:, None]
                      * self.transitions[history][:, items].toarray() / seq_std[0, 0])
        return parts

    def explain(
        self, history: np.ndarray, items: np.ndarray, top: int = 3
    ) -> list[list[tuple[int, float]]]:
        """For each movie in ``items``: up to ``top`` ``(history column, share)`` pairs, largest
        first. Shares are positive parts over the sum of the positive parts (1 over all
        contributing movies, at most 1 over the ``top`` shown)."""
        history = np.asarray(history, dtype=np.int64)
        if history.size == 0 or len(items) == 0:
            return [[] for _ in items]
        return top_shares_of_columns(self.contributions(history, items), history, top)

    # ---- persistence (flat arrays under a prefix, beside the batch model's) ---------------
    def to_arrays(self, prefix: str = "ranker_") -> dict[str, np.ndarray]:
        w = self.weights
        out = {
            f"{prefix}weights": np.array([w.history_halflife, w.transition_weight,
                                          w.transition_halflife, w.popularity_weight]),
            f"{prefix}popularity": np.asarray(self.popularity, dtype=np.float32),
        }
        matrices = {"ease": self.ease, "seq": self.transitions}
        for name, matrix in matrices.items():
            if matrix is None:
                continue
            out[f"{prefix}{name}_indptr"] = matrix.indptr.astype(np.int64)
            out[f"{prefix}{name}_indices"] = matrix.indices.astype(np.int32)
            out[f"{prefix}{name}_data"] = matrix.data.astype(np.float32)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str = "ranker_") -> ItemRanker:
        pop = np.asarray(arrays[f"{prefix}popularity"])
        n = pop.size

        def matrix(name: str) -> sp.csr_matrix | None:
            if f"{prefix}{name}_indptr" not in arrays:
                return None
            return sp.csr_matrix((arrays[f"{prefix}{name}_data"], arrays[f"{prefix}{name}_indices"],
                                  arrays[f"{prefix}{name}_indptr"]), shape=(n, n))

        hl, tw, thl, pw = (float(v) for v in arrays[f"{prefix}weights"])
        return cls(matrix("ease"), matrix("seq"), pop, RankerWeights(hl, tw, thl, pw))
