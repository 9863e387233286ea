"""The streaming recommender the worker runs: a River model (``BiasedMF`` by default) +
transitions + trending popularity, ranking every movie with numpy."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

from .base import Recommender
from .config import OnlineConfig
from .cooccurrence import Transitions
from .decayed_counts import DecayedCounts
from .numpy_mf import NumpyBiasedMF
from .online_item_item import ItemItemTerm
from .learners import build_learner
from .online_ranking import OnlineRanking
from .rating_blend import RatingBlend

__all__ = ["OnlineRecommender"]


class OnlineRecommender(OnlineRanking, Recommender):
    """Biased MF learning every event, blended with online signals to rank all movies at once.

    * **Rating** (``predict_one``, RMSE): River's ``BiasedMF`` (or the ``learner`` of the
      config, :mod:`~reelstream.models.learners`), its item weights mirrored in float32 for
      ranking, clipped;
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
        self.mf = build_learner(cfg)
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
        self.item_item = (
            ItemItemTerm(cfg.item_weight, cfg.item_lambda, cfg.item_halflife,
                         cfg.item_neighbours, cfg.item_max_items, cfg.item_max_history)
            if cfg.item_weight else None
        )
        self.base_version: str | None = None
        #: :meth:`predict_one` of the last event learned, as it was before learning it
        self.last_prediction: float | None = None
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
            x = blend.feature_list(user, row, y_pred, mean_before)
            y_pred = blend.predict(x)
            blend.learn(user, row, x, y)
        cfg = self.config
        # what predict_one answered just before this event (test-then-learn, for free)
        self.last_prediction = min(max(y_pred, cfg.min_rating), cfg.max_rating)
        term = self.item_item
        if term is not None:
            term.adopt_refit()
            every = cfg.item_refit_every
            if every and (self.events_learned + 1) % every == 0:
                term.refit(self.rated, len(self.index))

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

    def forget_user(self, user: int) -> dict[str, int]:
        """Remove everything this model holds about ``user`` (their factors and bias, the
        movies they rated, their recent movies, their rating means). Item-side state they
        contributed to (item factors, trending counts, links between movies) stays: it is
        no longer theirs. Returns what was removed; a later rating starts from nothing."""
        removed = {
            "factors": int(self.mf.forget_user(user)),
            "rated": self.rated.forget(user),
            "recent": len(self.transitions.history.pop(user, ())),
            "means": int(self.blend is not None and self.blend.users.pop(user, None) is not None),
            "warm": int(user in self._warm_users),
        }
        self._warm_users.discard(user)
        return removed

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
        state.setdefault("item_item", None)
        self.__dict__.update(state)
        self._allocate(max(self.index.capacity, 64))


def _pairs(values) -> list[tuple[int, object]]:
    if isinstance(values, Mapping):
        return [(int(k), v) for k, v in values.items()]
    ids, arr = values
    return [(int(i), v) for i, v in zip(np.asarray(ids).tolist(), arr, strict=True)]
