"""The streaming recommender the worker runs: River's biased MF (vectorised) + transitions +
trending popularity, ranking every movie with numpy."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import numpy as np

from .base import Recommender, top_n
from .config import OnlineConfig
from .cooccurrence import Transitions
from .decayed_counts import DecayedCounts
from .numpy_mf import NumpyBiasedMF
from .rating_blend import RatingBlend

__all__ = ["OnlineRecommender"]


class OnlineRecommender(Recommender):
    """Biased MF learning every event, blended with online signals to rank all movies at once.

    * **Rating** (``predict_one``, RMSE): River's ``BiasedMF`` SGD step, vectorised in numpy
      (:class:`NumpyBiasedMF`; equal to River's predictions with the same seed), clipped;
      with ``rating_blend``, stacked with running user/item means and the user's recent
      residual by online least squares (:class:`RatingBlend`).
    * **Ranking** (``recommend``, HR@k), over all known movies minus those the user rated::

          mf_weight * predicted_rating
          + popularity_weight * log1p(trending count)
          + transition_weight * log1p(transition_scale * transition score)

      where the transition score comes from the user's last ``transition_window`` movies
      (:class:`Transitions`: "users who rated X then rated Y").
    * **Cold start**: a user with fewer than ``cold_start_min_ratings`` ratings gets the
      trending list (``source(user) == "popular"``). A new movie gets a row when first rated.
    * **Warm start**: :meth:`warm_start` seeds the weights with a batch champion's.

    A top-N writes into preallocated float32 buffers: one matrix-vector product over a
    float32 mirror of the item factors, the cached item terms, a sparse add of the transition
    scores, then ``argpartition``.

    Parameters
    ----------
    config
        Hyper-parameters, usually ``load_online_config()``; defaults when omitted.

    Examples
    --------

    >>> model = OnlineRecommender(OnlineConfig(popularity_weight=0.5))
    >>> model.learn_many([(1, 10, 4.0), (1, 20, 2.0), (2, 10, 5.0), (2, 30, 3.0)])
    4
    >>> model.source(1), model.source(3)
    ('model', 'popular')
    >>> [movie for movie, _ in model.recommend(1, n=5)]
    [30]
    >>> [movie for movie, _ in model.recommend(3, n=2)]
    [10, 20]
    >>> model.events_learned, model.version.startswith("online-")
    (4, True)

    """

    def __init__(self, config: OnlineConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = OnlineConfig() if config is None else config
        self.mf = NumpyBiasedMF(
            n_factors=cfg.n_factors,
            bias_lr=cfg.bias_lr,
            latent_lr=cfg.latent_lr,
            l2_bias=cfg.l2_bias,
            l2_latent=cfg.l2_latent,
            init_sigma=cfg.init_sigma,
            seed=cfg.seed,
            clip_gradient=cfg.clip_gradient,
        )
        self.trending = DecayedCounts(cfg.popularity_half_life)
        self.transitions = Transitions(
            window=cfg.transition_window,
            position_decay=cfg.transition_decay,
            reverse_weight=cfg.transition_reverse_weight,
            top_k=cfg.transition_top_k,
        )
        self.blend = (
            RatingBlend(
                shrinkage=cfg.blend_shrinkage,
                residual_decay=cfg.blend_residual_decay,
                forgetting=cfg.blend_forgetting,
            )
            if cfg.rating_blend
            else None
        )
        self.base_version: str | None = None
        #: :class:`reelstream.item_sync.ItemJournal` when workers share item state.
        self.item_journal = None
        self._warm_users: set[int] = set()
        self._allocate(64)

    # --- buffers ---------------------------------------------------------------------------
    def _allocate(self, capacity: int) -> None:
        """float32 mirror of the item weights and scratch buffers for ``capacity`` rows."""
        k = self.config.n_factors
        # transposed (k x capacity): a top-N's vector-matrix product then streams rows
        self._factors_t = np.zeros((k, capacity), dtype=np.float32)
        self._biases = np.zeros(capacity, dtype=np.float32)
        self._score_buf = np.zeros(capacity, dtype=np.float32)
        self._static = np.zeros(capacity, dtype=np.float32)  # item terms, cached
        self._static_at: tuple[int, int] | None = None
        # float64: the recent movies' rows are summed by one same-type np.add.at
        self._transition_buf = np.zeros(capacity, dtype=np.float64)
        self._dirty: set[int] = set()
        self._views: tuple | None = None  # (n, scores, factors, static) views for n movies
        n = min(len(self.index), capacity, self.mf.n_rows)
        rows = range(n)
        self._factors_t[:, :n] = self.mf.item_factors_of(rows).T
        self._biases[:n] = self.mf.item_biases_of(rows)

    def _ensure_capacity(self) -> None:
        """Grow every per-item array to the item index's capacity (after a new movie, or
        when an index is assigned from another model)."""
        capacity = self.index.capacity
        self.mf.ensure_items(capacity)
        if len(self._biases) < capacity:
            self._allocate(max(capacity, 2 * len(self._biases)))
        self._views = None

    # --- learning --------------------------------------------------------------------------
    def _learn(self, user, item, row, y, ts):
        journal = self.item_journal
        if journal is not None:  # item state shared with other workers: record it first
            journal.record(self, user, row, y)
        if row >= len(self._biases):
            self._ensure_capacity()
        mf = self.mf
        mean_before = mf.global_mean
        y_pred = mf.learn_one(user, row, y)
        dirty = self._dirty
        dirty.add(row)  # the float32 mirror is synced before the next scoring
        if len(dirty) >= 4096:
            self._sync()
        self.trending.add(row)
        if self.config.transition_weight:
            self.transitions.add(user, row)
        blend = self.blend
        if blend is not None:
            blend.learn(user, row, blend.feature_list(user, row, y_pred, mean_before), y)

    def _sync(self) -> None:
        """Copy the rows learned since the last scoring into the float32 mirror."""
        if self._dirty:
            rows = list(self._dirty)
            self._factors_t[:, rows] = self.mf.item_factors_of(rows).T
            self._biases[rows] = self.mf.item_biases_of(rows)
            self._dirty.clear()

    def warm_start(
        self,
        item_factors: Mapping[int, np.ndarray] | tuple[np.ndarray, np.ndarray],
        item_biases: Mapping[int, float] | tuple[np.ndarray, np.ndarray],
        global_mean: float,
        version: str,
        *,
        user_factors: Mapping[int, np.ndarray] | tuple[np.ndarray, np.ndarray] | None = None,
        user_biases: Mapping[int, float] | tuple[np.ndarray, np.ndarray] | None = None,
        n_ratings: int = 1000,
    ) -> None:
        """Seed the model with a batch-trained matrix factorisation.

        Factors and biases are given by id, as a mapping or as ``(ids, values)`` arrays; each
        vector must have ``n_factors`` entries. ``global_mean`` counts as ``n_ratings``
        ratings in the running mean. The version becomes ``version + "+online"``. User factors
        are optional; without them users start fresh against the champion's items.
        """
        k = self.n_factors
        mf = self.mf
        for movie, vec in _pairs(item_factors):
            vec = np.asarray(vec, dtype=np.float64)
            if vec.shape != (k,):
                raise ValueError(f"movie {movie}: factors of shape {vec.shape}, expected ({k},)")
            row = self.index.add(movie)
            self._ensure_capacity()
            mf.set_item(row, vec, None)
            self._factors_t[:, row] = vec
        for movie, bias in _pairs(item_biases):
            row = self.index.add(movie)
            self._ensure_capacity()
            mf.set_item(row, None, float(bias))
            self._biases[row] = float(bias)
        for user, vec in _pairs(user_factors) if user_factors is not None else ():
            mf.set_user(user, np.asarray(vec, dtype=np.float64), None)
            self._warm_users.add(user)
        for user, bias in _pairs(user_biases) if user_biases is not None else ():
            mf.set_user(user, None, float(bias))
        mf.global_mean = float(global_mean)
        mf.mean_n = max(float(n_ratings), mf.mean_n)
        self._static_at = None
        self.base_version = version

    # --- scoring ---------------------------------------------------------------------------
    @property
    def n_factors(self) -> int:
        return self.config.n_factors

    @property
    def global_mean(self) -> float:
        return self.mf.global_mean

    @property
    def item_factors(self) -> np.ndarray:
        """Item factors by row, shape ``(n_items, n_factors)`` (a float32 view)."""
        self._sync()
        return self._factors_t[:, : len(self.index)].T

    @property
    def item_biases(self) -> np.ndarray:
        """Item biases by row (a float32 view)."""
        self._sync()
        return self._biases[: len(self.index)]

    def is_known(self, user: int) -> bool:
        return (
            self.rated.count(user) >= self.config.cold_start_min_ratings
            or user in self._warm_users
        )

    def predict_one(self, user: int, item: int) -> float:
        """Predicted rating, clipped; an unknown user/movie is not created."""
        row = self.index.get(item)
        y = self.mf.predict_one(user, row)
        if self.blend is not None:
            y = self.blend.predict(self.blend.features(user, row, y, self.mf.global_mean))
        return min(max(y, self.config.min_rating), self.config.max_rating)

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

    def recommend(
        self, user: int, n: int = 10, exclude_rated: bool = True
    ) -> list[tuple[int, float]]:
        """Top-``n`` ``(movie_id, score)`` over all known movies, best first.

        Movies ``user`` already rated are left out unless ``exclude_rated`` is False.
        """
        if len(self.index) == 0:
            return []
        scores, shift = self._score_into(user)
        rows = top_n(scores, n, self.rated.rows(user) if exclude_rated else None, overwrite=True)
        best = (scores[rows] + np.float32(shift)).tolist()
        return list(zip(self.index.ids[rows].tolist(), best, strict=True))

    def recommend_many(self, users: Iterable[int], n: int = 10) -> dict[int, list[tuple[int, float]]]:
        """:meth:`recommend` (rated movies excluded) of each user once, for the users of a
        batch, on one BLAS thread.

        One thread: the worker's other process has the other core, and a matrix-vector
        product over 43k movies that BLAS split across two threads ran ~3× slower on this
        shared 2-core machine (each thread waiting for a busy core). Scoring users in
        blocks (one matrix-matrix product per 8-32 users) or pruning the catalogue with a
        norm bound gave the same lists at no lower CPU cost here (docs/performance.md).
        """
        users = list(dict.fromkeys(users))
        with _one_blas_thread():
            return {user: self.recommend(user, n) for user in users}

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

    @property
    def version(self) -> str:
        if self.base_version:
            return f"{self.base_version}+online"
        digest = hashlib.sha1(self.config.model_dump_json().encode()).hexdigest()[:8]
        return f"online-{digest}"

    # The float32 mirror and the buffers are rebuilt from the learner on load.
    _BUFFERS = (
        "_factors_t",
        "_biases",
        "_score_buf",
        "_static",
        "_static_at",
        "_transition_buf",
        "_dirty",
        "_views",
    )

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for name in self._BUFFERS:
            del state[name]
        state["item_journal"] = None  # what is not yet shared is not part of a checkpoint
        return state

    def __setstate__(self, state: dict) -> None:
        state.setdefault("item_journal", None)
        self.__dict__.update(state)
        self._allocate(max(self.index.capacity, 64))


def _one_blas_thread():
    """Small products on one BLAS thread: a second one only waits for the other process of
    the worker (and on a shared machine for everyone else), which made them ~3× slower.
    The controller is built once (its library scan costs ~0.3 ms, a limit ~12 µs)."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


_BLAS = None


def _pairs(values) -> list[tuple[int, object]]:
    if isinstance(values, Mapping):
        return [(int(k), v) for k, v in values.items()]
    ids, arr = values
    return [(int(i), v) for i, v in zip(np.asarray(ids).tolist(), arr, strict=True)]
