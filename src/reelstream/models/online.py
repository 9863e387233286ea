"""The streaming recommender the worker runs: River MF + trending popularity, vectorised."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
from river import optim, reco

from .base import top_n
from .config import OnlineConfig
from .decayed_counts import DecayedCounts
from .river_mf import RiverMF

__all__ = ["OnlineRecommender"]


def _biased_mf(config: OnlineConfig) -> reco.BiasedMF:
    return reco.BiasedMF(
        n_factors=config.n_factors,
        bias_optimizer=optim.SGD(config.bias_lr),
        latent_optimizer=optim.SGD(config.latent_lr),
        weight_initializer=optim.initializers.Zeros(),
        latent_initializer=optim.initializers.Normal(
            mu=0.0, sigma=config.init_sigma, seed=config.seed
        ),
        l2_bias=config.l2_bias,
        l2_latent=config.l2_latent,
        seed=config.seed,
    )


class OnlineRecommender(RiverMF):
    """River ``BiasedMF`` learning every event, ranking all movies at once with numpy.

    * **Rating**: River's ``BiasedMF`` (SGD on squared error) predicts ratings; its item
      weights are mirrored in numpy after each step (see :class:`RiverMF`).
    * **Ranking**: ``mf_weight * predicted_rating + popularity_weight * log1p(trending)``
      over all known movies, minus those the user rated (see :class:`OnlineConfig`).
    * **Cold start**: a user with fewer than ``cold_start_min_ratings`` ratings gets the
      trending list (``source(user) == "popular"``). A new movie gets a row when first rated.
    * **Warm start**: :meth:`warm_start` seeds the item weights with a batch champion's.

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
        self.config = OnlineConfig() if config is None else config
        super().__init__(_biased_mf(self.config), self.config.min_rating, self.config.max_rating)
        self.trending = DecayedCounts(self.config.popularity_half_life)
        self.base_version: str | None = None
        self._warm_users: set[int] = set()

    # --- learning --------------------------------------------------------------------------
    def _learn(self, user, item, row, y, ts):
        super()._learn(user, item, row, y, ts)
        self.trending.add(row)

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
        items = _pairs(item_factors)
        k = self.n_factors
        for movie, vec in items:
            vec = np.asarray(vec, dtype=np.float64)
            if vec.shape != (k,):
                raise ValueError(f"movie {movie}: factors of shape {vec.shape}, expected ({k},)")
            self.mf.i_latents[movie] = vec.copy()
            self._sync_item(movie, self.index.add(movie))
        for movie, bias in _pairs(item_biases):
            self.mf.i_biases[movie] = float(bias)
            self._sync_item(movie, self.index.add(movie))
        for user, vec in _pairs(user_factors) if user_factors is not None else ():
            self.mf.u_latents[user] = np.asarray(vec, dtype=np.float64).copy()
            self._warm_users.add(user)
        for user, bias in _pairs(user_biases) if user_biases is not None else ():
            self.mf.u_biases[user] = float(bias)
        mean = self.mf.global_mean
        mean._mean, mean.n = float(global_mean), max(float(n_ratings), mean.n)
        self.base_version = version

    # --- scoring ---------------------------------------------------------------------------
    def is_known(self, user: int) -> bool:
        return (
            self.rated.count(user) >= self.config.cold_start_min_ratings
            or user in self._warm_users
        )

    def predict_one(self, user: int, item: int) -> float:
        """Predicted rating, clipped; unlike River, an unknown user/movie is not created."""
        y = self.global_mean
        u_vec, i_vec = self.mf.u_latents.get(user), self.mf.i_latents.get(item)
        y += self.mf.u_biases.get(user, 0.0) + self.mf.i_biases.get(item, 0.0)
        if u_vec is not None and i_vec is not None:
            y += float(u_vec @ i_vec)
        return min(max(y, self.min_rating), self.max_rating)

    def popularity_scores(self) -> np.ndarray:
        """``log1p`` of each movie's trending count (by row)."""
        return self.trending.log_values(len(self.index))

    def _scores(self, user: int) -> np.ndarray:
        cfg = self.config
        if not self.is_known(user):
            return self.popularity_scores()
        scores = self.mf_scores(user)
        if cfg.mf_weight != 1.0:
            scores *= cfg.mf_weight
        if cfg.popularity_weight:
            scores += cfg.popularity_weight * self.popularity_scores()
        return scores

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
        factors_t = self._factors_t[:, : len(self.index)]
        norms = np.sqrt(np.einsum("kn,kn->n", factors_t, factors_t))
        norms[norms == 0] = 1.0
        cosine = (factors_t[:, row] @ factors_t) / (norms * norms[row])
        rows = top_n(cosine, n, exclude=np.array([row]))
        return list(zip(self.index.ids[rows].tolist(), cosine[rows].tolist(), strict=True))

    @property
    def version(self) -> str:
        if self.base_version:
            return f"{self.base_version}+online"
        digest = hashlib.sha1(self.config.model_dump_json().encode()).hexdigest()[:8]
        return f"online-{digest}"


def _pairs(values) -> list[tuple[int, object]]:
    if isinstance(values, Mapping):
        return [(int(k), v) for k, v in values.items()]
    ids, arr = values
    return [(int(i), v) for i, v in zip(np.asarray(ids).tolist(), arr, strict=True)]
