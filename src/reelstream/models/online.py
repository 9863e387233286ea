"""The streaming recommender the worker runs: River's biased MF (vectorised) + transitions +
trending popularity, ranking every movie with numpy."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

from .base import Recommender, top_n
from .config import OnlineConfig
from .cooccurrence import Transitions
from .decayed_counts import DecayedCounts
from .item_index import grow
from .numpy_mf import NumpyBiasedMF

__all__ = ["OnlineRecommender"]


class OnlineRecommender(Recommender):
    """Biased MF learning every event, blended with online signals to rank all movies at once.

    * **Rating** (``predict_one``, RMSE): River's ``BiasedMF`` SGD step, vectorised in numpy
      (:class:`NumpyBiasedMF`; equal to River's predictions with the same seed), clipped.
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
        )
        self.base_version: str | None = None
        self._warm_users: set[int] = set()
        self._allocate(64)

    # --- buffers ---------------------------------------------------------------------------
    def _allocate(self, capacity: int) -> None:
        """float32 mirror of the item weights and scratch buffers for ``capacity`` rows."""
        k = self.config.n_factors
        self._factors = np.zeros((capacity, k), dtype=np.float32)
        self._biases = np.zeros(capacity, dtype=np.float32)
        self._score_buf = np.zeros(capacity, dtype=np.float32)
        self._static = np.zeros(capacity, dtype=np.float32)  # item terms, cached
        self._static_at: tuple[int, int] | None = None
        self._transition_buf = np.zeros(capacity)
        n = min(len(self.index), capacity, self.mf.item_biases.shape[0])
        self._factors[:n] = self.mf.item_factors[:n]
        self._biases[:n] = self.mf.item_biases[:n]

    def _ensure_capacity(self) -> None:
        """Grow every per-item array to the item index's capacity (after a new movie, or
        when an index is assigned from another model)."""
        capacity = self.index.capacity
        self.mf.ensure_items(capacity)
        if len(self._biases) < capacity:
            self._allocate(max(capacity, 2 * len(self._biases)))

    # --- learning --------------------------------------------------------------------------
    def _learn(self, user, item, row, y, ts):
        if row >= len(self._biases):
            self._ensure_capacity()
        mf = self.mf
        mf.learn_one(user, row, y)
        self._factors[row] = mf.item_factors[row]
        self._biases[row] = mf.item_biases[row]
        self.trending.add(row)
        if self.config.transition_weight:
            self.transitions.add(user, row)

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
            self._factors[row] = vec
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
        return self._factors[: len(self.index)]

    @property
    def item_biases(self) -> np.ndarray:
        """Item biases by row (a float32 view)."""
        return self._biases[: len(self.index)]

    def is_known(self, user: int) -> bool:
        return (
            self.rated.count(user) >= self.config.cold_start_min_ratings
            or user in self._warm_users
        )

    def predict_one(self, user: int, item: int) -> float:
        """Predicted rating, clipped; an unknown user/movie is not created."""
        y = self.mf.predict_one(user, self.index.get(item))
        return min(max(y, self.config.min_rating), self.config.max_rating)

    def popularity_scores(self) -> np.ndarray:
        """``log1p`` of each movie's trending count (by row), a new array."""
        return self.trending.log_values(len(self.index))

    def mf_scores(self, user: int) -> np.ndarray:
        """Predicted rating of every known movie (by row), unclipped, float32, a new array."""
        n = len(self.index)
        bias, vec = self.mf.user(user)
        scores = self._biases[:n] + np.float32(self.global_mean + bias)
        if vec is not None:
            scores += self._factors[:n] @ vec.astype(np.float32)
        return scores

    def _item_terms(self, n: int) -> np.ndarray:
        """``mf_weight * item_bias + popularity_weight * log1p(trending)``, cached until the
        next event is learned (a batch of top-Ns after a batch of events computes it once)."""
        key = (self.events_learned, n)
        static = self._static[:n]
        if self._static_at != key:
            cfg = self.config
            np.multiply(self._biases[:n], cfg.mf_weight, out=static)
            if cfg.popularity_weight:
                static += (cfg.popularity_weight * self.trending.log_values(n)).astype(np.float32)
            self._static_at = key
        return static

    def _score_into(self, user: int) -> tuple[np.ndarray, float]:
        """Ranking scores of all ``n`` movies written into the score buffer, minus a constant
        (returned) common to every movie, so a top-N adds it to its winners only."""
        cfg = self.config
        n = len(self.index)
        if n > len(self._score_buf):
            self._ensure_capacity()
        out = self._score_buf[:n]
        if not self.is_known(user):
            np.copyto(out, self.trending.log_values(n), casting="same_kind")
            return out, 0.0
        bias, vec = self.mf.user(user)
        if vec is not None and cfg.mf_weight:
            np.matmul(self._factors[:n], (cfg.mf_weight * vec).astype(np.float32), out=out)
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
        touched = self.transitions.scores_into(user, buf)
        if touched is None:
            return
        out[touched] += (cfg.transition_weight * np.log1p(cfg.transition_scale * buf[touched])).astype(
            np.float32
        )
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

    def popular(self, n: int = 10) -> list[tuple[int, float]]:
        """The ``n`` trending movies ``(movie_id, decayed count)``, for everyone."""
        counts = self.trending.values(len(self.index))
        rows = top_n(counts, n)
        return list(zip(self.index.ids[rows].tolist(), counts[rows].tolist(), strict=True))

    def similar(self, item: int, n: int = 10) -> list[tuple[int, float]]:
        """The ``n`` movies whose factors have the highest cosine with ``item``'s."""
        row = self.index.get(item)
        if row is None:
            return []
        factors = self.item_factors
        norms = np.sqrt(np.einsum("nk,nk->n", factors, factors))
        norms[norms == 0] = 1.0
        cosine = (factors @ factors[row]) / (norms * norms[row])
        rows = top_n(cosine, n, exclude=np.array([row]))
        return list(zip(self.index.ids[rows].tolist(), cosine[rows].tolist(), strict=True))

    @property
    def version(self) -> str:
        if self.base_version:
            return f"{self.base_version}+online"
        digest = hashlib.sha1(self.config.model_dump_json().encode()).hexdigest()[:8]
        return f"online-{digest}"

    # The float32 mirror and the buffers are rebuilt from the learner on load.
    _BUFFERS = ("_factors", "_biases", "_score_buf", "_static", "_static_at", "_transition_buf")

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for name in self._BUFFERS:
            del state[name]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._allocate(max(self.index.capacity, 64))


def _pairs(values) -> list[tuple[int, object]]:
    if isinstance(values, Mapping):
        return [(int(k), v) for k, v in values.items()]
    ids, arr = values
    return [(int(i), v) for i, v in zip(np.asarray(ids).tolist(), arr, strict=True)]
