"""Online stacking of rating predictors: recursive least squares over a few features."""

from __future__ import annotations

from operator import mul

import numpy as np

__all__ = ["RatingBlend"]


class RatingBlend:
    """Predicts a rating as ``w · x``, with ``w`` fitted online by weighted least squares.

    The features ``x`` of a ``(user, item)`` pair are::

        [1, mf_prediction, user_mean - mean, item_mean - mean, user_residual]

    where the user and item means are running means shrunk towards the global mean by
    ``shrinkage`` pseudo-ratings, and ``user_residual`` is an exponential moving average of
    the user's recent errors ``y - mf_prediction`` (how much they currently rate above what
    the factors expect). One SGD pass of matrix factorisation is noisy for users and movies
    with few ratings; the running means and the recent residual correct it, and least
    squares learns by how much: ``A = Σ λ^age x xᵀ`` and ``b = Σ λ^age x y`` are updated at
    every event (folded in every ``solve_every`` events) and ``(A + ridge I) w = b + ridge w₀``
    is solved when the weights are next read after a fold,
    where ``w₀`` is "the MF prediction alone". Unlike recursive least squares with
    forgetting, which can blow up when a direction is not excited, the ridge keeps the
    solve well conditioned however long the stream.

    Parameters
    ----------
    shrinkage
        Pseudo-ratings at the global mean in each user and item mean.
    residual_decay
        Weight of the newest error in the user's moving-average residual.
    forgetting
        Weight decay per event of past events (``1`` = all weigh alike).
    ridge
        Strength of the pull towards ``w₀``.
    solve_every
        Events between two folds of the pending events into ``A`` and ``b`` (and refits).

    Examples
    --------

    >>> blend = RatingBlend(shrinkage=0.0)
    >>> for y in [4.0, 3.0, 4.0, 5.0] * 20:
    ...     x = blend.features(1, 0, mf_prediction=y - 0.5, global_mean=4.0)
    ...     blend.learn(1, 0, x, y)
    >>> round(blend.predict(blend.features(1, 0, 3.5, 4.0)), 2)  # learned: y = mf + 0.5
    4.0

    """

    def __init__(
        self,
        shrinkage: float = 5.0,
        residual_decay: float = 0.3,
        forgetting: float = 0.9999,
        ridge: float = 1.0,
        solve_every: int = 50,
    ) -> None:
        self.shrinkage = shrinkage
        self.residual_decay = residual_decay
        self.forgetting = forgetting
        self.ridge = ridge
        self.solve_every = solve_every
        # Start as the MF prediction alone.
        self.prior = np.array([0.0, 1.0, 0.0, 0.0, 0.0])
        self._weights = self.prior.copy()
        self._stale = False  # folded since the last solve: solved when the weights are read
        self.gram = np.zeros((5, 5))
        self.moment = np.zeros(5)
        self.n_learned = 0
        # Events since the last fold (Python lists: no numpy call per event), folded into
        # gram/moment by one product every ``solve_every`` events.
        self._xs: list = []
        self._ys: list[float] = []
        self._decay: np.ndarray | None = None
        self.users: dict[int, list[float]] = {}  # user -> [sum, count, residual]
        self.items: dict[int, list[float]] = {}  # item row -> [sum, count]

    def feature_list(
        self, user: int, item: int | None, mf_prediction: float, global_mean: float
    ) -> list[float]:
        """:meth:`features` as a Python list (what :meth:`learn` stores)."""
        k, mu = self.shrinkage, global_mean
        u = self.users.get(user)
        i = self.items.get(item) if item is not None else None
        u_mean = (u[0] + k * mu) / (u[1] + k) - mu if u is not None and u[1] + k else 0.0
        i_mean = (i[0] + k * mu) / (i[1] + k) - mu if i is not None and i[1] + k else 0.0
        residual = u[2] if u is not None else 0.0
        return [1.0, mf_prediction, u_mean, i_mean, residual]

    def features(
        self, user: int, item: int | None, mf_prediction: float, global_mean: float
    ) -> np.ndarray:
        """The feature vector of ``user`` and the item at row ``item`` (``None``: unknown)."""
        return np.array(self.feature_list(user, item, mf_prediction, global_mean))

    @property
    def weights(self) -> np.ndarray:
        """The fitted weights (the 5×5 system is solved lazily, when they are read after a
        fold: a worker that only learns never pays for the solve)."""
        if self._stale:
            self._solve_weights()
        return self._weights

    @weights.setter
    def weights(self, value: np.ndarray) -> None:
        self._weights = np.asarray(value, dtype=np.float64)
        self._stale = False

    #: ``(weights, the same as a list)``, for :meth:`predict` (a class default: checkpoints
    #: written before it existed load without it)
    _listed: tuple[np.ndarray, list[float]] | None = None

    def predict(self, x) -> float:
        """``weights · x``, summed in Python: the learning loop calls it on every event, and
        numpy's overhead on five numbers is four times the sum."""
        weights = self.weights
        listed = self._listed
        if listed is None or listed[0] is not weights:
            listed = self._listed = (weights, weights.tolist())
        return float(sum(map(mul, listed[1], x)))

    def learn(self, user: int, item: int, x, y: float) -> None:
        """Add ``(x, y)`` to the least squares (folded in every ``solve_every`` events),
        then ``y`` joins the user's and the item's means."""
        xs = self._xs
        xs.append(x)
        self._ys.append(y)
        self.n_learned += 1
        if len(xs) == self.solve_every:
            self._fold()
        u = self.users.get(user)
        if u is None:
            u = self.users[user] = [0.0, 0.0, 0.0]
        u[0] += y
        u[1] += 1.0
        u[2] += self.residual_decay * ((y - x[1]) - u[2])
        i = self.items.get(item)
        if i is None:
            i = self.items[item] = [0.0, 0.0]
        i[0] += y
        i[1] += 1.0

    def _fold(self) -> None:
        """Fold the pending events into the sums (the weights are then refitted lazily)."""
        k = len(self._xs)
        if not k:
            return
        xs = np.array(self._xs, dtype=np.float64).reshape(k, len(self.prior))
        ys = np.array(self._ys, dtype=np.float64)
        self._xs, self._ys = [], []
        # the newest event weighs 1, one before it lam, ...
        decay = self._decay
        if decay is None or len(decay) != k:
            decay = self.forgetting ** np.arange(k - 1, -1, -1, dtype=np.float64)
            if k == self.solve_every:
                self._decay = decay
        weighted = xs * decay[:, None]
        self.gram *= self.forgetting**k
        self.moment *= self.forgetting**k
        self.gram += weighted.T @ xs
        self.moment += weighted.T @ ys
        self._stale = True

    def _solve_weights(self) -> None:
        ridge = self.ridge * np.eye(len(self.prior))
        self._weights = np.linalg.solve(self.gram + ridge, self.moment + self.ridge * self.prior)
        self._stale = False

    def solve(self) -> None:
        """Fold the pending events into the sums and refit the weights on them."""
        self._fold()
        self._solve_weights()

    def __repr__(self) -> str:
        return f"RatingBlend(weights={np.round(self.weights, 3).tolist()})"
