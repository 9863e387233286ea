"""How :class:`~reelstream.models.online.OnlineRecommender` ranks: every known movie scored
at once into preallocated float32 buffers, then ``argpartition``.

Kept apart from learning so each reads on its own; the mixin uses the model's learner
(``mf``, ``trending``, ``transitions``, ``rated``, ``index``) and buffers.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .base import top_n
from .item_ranker import top_shares_of_columns

__all__ = ["OnlineRanking"]


class OnlineRanking:
    """Top-N, popular and similar lists of an online model (a mixin of
    :class:`~reelstream.models.online.OnlineRecommender`)."""

    def popularity_scores(self) -> np.ndarray:
        """``log1p`` of each movie's trending count (by row), a new array."""
        return self.trending.log_values(len(self.index))

    def mf_scores(self, user: int) -> np.ndarray:
        """Predicted rating of every known movie (by row), unclipped, float32, a new array."""
        n = len(self.index)
        self._sync()
        bias, vec = self.mf.user(user)
        scores = self._biases[:n] + np.float32(self.global_mean + bias)
        if vec is not None:
            scores += vec.astype(np.float32) @ self._factors_t[:, :n]
        return scores

    def _item_terms(self, n: int) -> np.ndarray:
        """``mf_weight * item_bias + popularity_weight * log1p(trending)``, cached until the
        next event is learned (a batch of top-Ns after a batch of events computes it once)."""
        key = (self.events_learned, n)
        static = self._views_for(n)[3]
        if self._static_at != key:
            cfg = self.config
            np.multiply(self._biases[:n], cfg.mf_weight, out=static)
            if cfg.popularity_weight:
                static += (cfg.popularity_weight * self.trending.log_values(n)).astype(np.float32)
            self._static_at = key
        return static

    def _views_for(self, n: int) -> tuple:
        """``(n, scores, factors_t, static)``: the buffers' views over ``n`` movies, kept
        until ``n`` changes or the buffers are reallocated."""
        views = self._views
        if views is None or views[0] != n:
            if n > len(self._score_buf):
                self._ensure_capacity()
            views = self._views = (
                n,
                self._score_buf[:n],
                self._factors_t[:, :n],
                self._static[:n],
            )
        return views

    def _score_into(self, user: int) -> tuple[np.ndarray, float]:
        """Ranking scores of all ``n`` movies written into the score buffer, minus a constant
        (returned) common to every movie, so a top-N adds it to its winners only."""
        cfg = self.config
        n = len(self.index)
        _, out, factors_t, _ = self._views_for(n)
        if self._dirty:
            self._sync()
        if not self.is_known(user):
            np.copyto(out, self.trending.log_values(n), casting="same_kind")
            return out, 0.0
        bias, vec = self.mf.user(user)
        if vec is not None and cfg.mf_weight:
            weight = cfg.mf_weight
            vec32 = (vec if weight == 1.0 else weight * vec).astype(np.float32)
            np.matmul(vec32, factors_t, out=out)
            out += self._item_terms(n)
        else:
            np.copyto(out, self._item_terms(n))
        if cfg.transition_weight:
            self._add_transitions(user, out)
        if self.item_item is not None:
            self.item_item.add_into(self.rated.rows(user), out)
        return out, cfg.mf_weight * (self.global_mean + bias)

    def _add_transitions(self, user: int, out: np.ndarray) -> None:
        """``out[i] += transition_weight * log1p(transition_scale * T[i])`` on the (few) rows
        with a transition score; ``log1p(0) = 0`` elsewhere."""
        cfg = self.config
        buf = self._transition_buf
        touched = self.transitions.scores_into(user, buf, scale=cfg.transition_scale)
        if touched is None:
            return
        values = np.log1p(buf[touched], dtype=np.float32)  # cast, then log1p in float32
        if cfg.transition_weight != 1.0:
            values *= np.float32(cfg.transition_weight)
        out[touched] += values
        buf[touched] = 0.0

    def _scores(self, user: int) -> np.ndarray:
        scores, shift = self._score_into(user)
        return scores + np.float32(shift)

    def _top_rows(self, user: int, n: int, exclude_rated: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the top-``n`` movies, best first, and their scores."""
        scores, shift = self._score_into(user)
        rows = top_n(scores, n, self.rated.rows(user) if exclude_rated else None, overwrite=True)
        return rows, scores[rows] + np.float32(shift)

    def recommend(
        self, user: int, n: int = 10, exclude_rated: bool = True
    ) -> list[tuple[int, float]]:
        """Top-``n`` ``(movie_id, score)`` over all known movies, best first.

        Movies ``user`` already rated are left out unless ``exclude_rated`` is False.
        """
        if len(self.index) == 0:
            return []
        rows, best = self._top_rows(user, n, exclude_rated)
        return list(zip(self.index.ids[rows].tolist(), best.tolist(), strict=True))

    def recommend_many(self, users: Iterable[int], n: int = 10) -> dict[int, list[tuple[int, float]]]:
        """:meth:`recommend` (rated movies excluded) of each user once, for the users of a
        batch, on one BLAS thread (the worker's other process has the other core)."""
        users = list(dict.fromkeys(users))
        with _one_blas_thread():
            return {user: self.recommend(user, n) for user in users}

    def recommend_explained(
        self, users: Iterable[int], n: int = 10, top: int = 3
    ) -> dict[int, list[tuple[int, float, tuple]]]:
        """:meth:`recommend_many` with each movie's :meth:`explain` reasons: ``(movie_id,
        score, reasons)``. Each user is explained right after being ranked, while the
        item-item term still holds what their history gathered."""
        users = list(dict.fromkeys(users))
        if len(self.index) == 0:
            return {user: [] for user in users}
        out = {}
        with _one_blas_thread():
            for user in users:
                rows, best = self._top_rows(user, n)
                reasons = self._explain_rows(user, rows, top)
                out[user] = list(zip(self.index.ids[rows].tolist(), best.tolist(), reasons,
                                     strict=True))
        return out

    def explain(self, user: int, movies: list[int], top: int = 3) -> list[tuple]:
        """For each movie: up to ``top`` ``(rated movie_id, share)`` of its item-item part,
        largest first (empty without that term, or for a movie newer than its last fit)."""
        rows = np.array([-1 if (r := self.index.get(m)) is None else r for m in movies],
                        dtype=np.int64)
        return self._explain_rows(user, rows, top)

    def _explain_rows(self, user: int, rows: np.ndarray, top: int) -> list[tuple]:
        """:meth:`explain` of the movies at ``rows`` (-1: a movie the model does not know)."""
        term = self.item_item
        empty: list[tuple] = [() for _ in range(len(rows))]
        if term is None or not len(rows):
            return empty
        history = self.rated.rows(user)[-term.max_history:]
        usable = (rows >= 0) & (rows < term.fitted_rows)
        parts, scale = term.contributions(history, rows[usable])
        if scale == 0.0:
            return empty
        shares = iter(top_shares_of_columns(parts, self.index.ids[history], top))
        return [tuple(next(shares)) if ok else () for ok in usable.tolist()]

    def popular(self, n: int = 10) -> list[tuple[int, float]]:
        """The ``n`` trending movies ``(movie_id, decayed count)``, for everyone."""
        counts = self.trending.values(len(self.index))
        rows = top_n(counts, n)
        return list(zip(self.index.ids[rows].tolist(), counts[rows].tolist(), strict=True))

    def similar(self, item: int, n: int = 10) -> list[tuple[int, float]]:
        """The ``n`` movies whose factors have the highest cosine with ``item``'s."""
        return self.similar_many([item], n).get(item, [])

    def similar_many(self, items: Iterable[int], n: int = 10) -> dict[int, list[tuple[int, float]]]:
        """:meth:`similar` of each known movie of ``items``, the catalogue's norms computed
        once for all of them."""
        rows = {item: row for item in items if (row := self.index.get(item)) is not None}
        if not rows:
            return {}
        factors = self.item_factors
        norms = np.sqrt(np.einsum("nk,nk->n", factors, factors))
        norms[norms == 0] = 1.0
        ids = self.index.ids
        result = {}
        with _one_blas_thread():
            for item, row in rows.items():
                cosine = factors @ factors[row]
                cosine /= norms
                cosine /= norms[row]
                best = top_n(cosine, n, exclude=np.array([row]), overwrite=True)
                result[item] = list(zip(ids[best].tolist(), cosine[best].tolist(), strict=True))
        return result


def _one_blas_thread():
    """Small products on one BLAS thread: a second one only waits for the other process of
    the worker. The controller is built once (its library scan costs far more than a limit)."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


_BLAS = None
