"""River's ``BiasedMF`` with a numpy mirror of its item weights for vectorised top-N."""

from __future__ import annotations

import numpy as np
from river import optim, reco

from .base import Recommender
from .river_weights import pack_weights, unpack_weights

__all__ = ["RiverMF", "tutorial_biased_mf"]


def tutorial_biased_mf() -> reco.BiasedMF:
    """``BiasedMF`` with the settings of River's matrix-factorisation tutorial."""
    return reco.BiasedMF(
        n_factors=10,
        bias_optimizer=optim.SGD(0.025),
        latent_optimizer=optim.SGD(0.05),
        weight_initializer=optim.initializers.Zeros(),
        latent_initializer=optim.initializers.Normal(mu=0.0, sigma=0.1, seed=73),
        l2_bias=0.0,
        l2_latent=0.0,
    )


class RiverMF(Recommender):
    """A River ``BiasedMF`` whose item factors and biases are mirrored in numpy arrays.

    River keeps one small array per item in a dict; scoring every movie through
    ``predict_one`` costs a Python call per movie. Here, after each ``learn_one`` the row of
    the item just learned is copied into ``item_factors``/``item_biases`` (River only changes
    that item's weights in a step), so all scores are ``global_mean + user_bias + item_biases
    + item_factors @ user_factor`` in one matrix-vector product. Predictions are River's own,
    clipped to the rating range (like the tutorial's ``PredClipper``).

    Parameters
    ----------
    model
        The River model; River's tutorial settings when omitted.
    min_rating, max_rating
        Range predictions are clipped to.

    Examples
    --------

    >>> model = RiverMF()
    >>> model.learn_many([(1, 10, 4.0), (1, 20, 2.0), (2, 10, 5.0), (2, 30, 3.0)])
    4
    >>> round(model.predict_one(1, 30), 4) == round(model.mf.predict_one(1, 30), 4)
    True
    >>> [movie for movie, _ in model.recommend(1, n=5)]
    [30]

    """

    def __init__(
        self, model: reco.BiasedMF | None = None, min_rating: float = 0.5, max_rating: float = 5.0
    ) -> None:
        super().__init__()
        self.mf = tutorial_biased_mf() if model is None else model
        self.min_rating = min_rating
        self.max_rating = max_rating
        # float32, factors transposed (k x capacity): the matrix-vector product of a top-N
        # then streams contiguous rows; rows beyond the known movies score -inf.
        self._factors_t = np.zeros((self.mf.n_factors, 64), dtype=np.float32)
        self._biases = np.full(64, -np.inf, dtype=np.float32)

    @property
    def n_factors(self) -> int:
        return self.mf.n_factors

    @property
    def global_mean(self) -> float:
        return float(self.mf.global_mean.get())

    @property
    def item_factors(self) -> np.ndarray:
        """Item factors by row, shape ``(n_items, n_factors)`` (a float32 view)."""
        return self._factors_t[:, : len(self.index)].T

    @property
    def item_biases(self) -> np.ndarray:
        """Item biases by row (a float32 view)."""
        return self._biases[: len(self.index)]

    def _resize(self, capacity: int) -> None:
        factors_t = np.zeros((self.n_factors, capacity), dtype=np.float32)
        biases = np.full(capacity, -np.inf, dtype=np.float32)
        n = min(len(self.index), self._factors_t.shape[1])
        factors_t[:, :n] = self._factors_t[:, :n]
        biases[:n] = self._biases[:n]
        self._factors_t, self._biases = factors_t, biases

    def _sync_item(self, item: int, row: int) -> None:
        if self._factors_t.shape[1] < self.index.capacity:
            self._resize(self.index.capacity)
        self._factors_t[:, row] = self.mf.i_latents[item]
        self._biases[row] = self.mf.i_biases[item]

    def _learn(self, user, item, row, y, ts):
        self.mf.learn_one(user, item, y)
        self._sync_item(item, row)

    def predict_one(self, user: int, item: int) -> float:
        # River's own prediction (which, like River, draws factors for an unknown pair).
        return min(max(self.mf.predict_one(user, item), self.min_rating), self.max_rating)

    def user_vector(self, user: int) -> tuple[float, np.ndarray]:
        """``(bias, factors)`` of ``user``; zeros for a user River has not seen."""
        vec = self.mf.u_latents.get(user)
        if vec is None:
            return 0.0, np.zeros(self.n_factors)
        return float(self.mf.u_biases.get(user, 0.0)), vec

    def mf_scores(self, user: int) -> np.ndarray:
        """Predicted rating of every known movie (by row), unclipped, float32, a new array."""
        n = len(self.index)
        bias, vec = self.user_vector(user)
        scores = vec.astype(np.float32) @ self._factors_t[:, :n]
        scores += self._biases[:n]
        scores += np.float32(self.global_mean + bias)
        return scores

    def _scores(self, user: int) -> np.ndarray:
        return self.mf_scores(user)

    @property
    def version(self) -> str:
        return "river-biasedmf"

    # A checkpoint stores River's weight dicts as stacked arrays (river_weights).
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["mf"], state["_packed"] = pack_weights(self.mf, self.mf.n_factors)
        # The numpy mirror is rebuilt from River's item weights on load.
        del state["_factors_t"], state["_biases"]
        return state

    def __setstate__(self, state: dict) -> None:
        packed = state.pop("_packed")
        self.__dict__.update(state)
        mf = self.mf
        unpack_weights(mf, packed)
        capacity = max(self.index.capacity, 64)
        self._factors_t = np.zeros((mf.n_factors, capacity), dtype=np.float32)
        self._biases = np.full(capacity, -np.inf, dtype=np.float32)
        for item in self.index.ids.tolist():
            self._sync_item(item, self.index.get(item))
