"""River's ``BiasedMF`` SGD step on numpy arrays: the same algorithm, ~20× cheaper per event."""

from __future__ import annotations

import numpy as np

__all__ = ["NumpyBiasedMF"]


class NumpyBiasedMF:
    """Biased matrix factorisation learned one rating at a time, exactly as River does it.

    The model, loss and update are those of :class:`river.reco.BiasedMF` with squared loss,
    constant-rate ``optim.SGD`` for biases and latents, ``Zeros`` bias initialiser and
    ``Normal(mu, sigma, seed)`` latent initialiser:

    * ``global_mean`` is updated with ``y`` first, then ``ŷ = mean + b_u + b_i + <p_u, q_i>``;
    * ``g = clip(2 (ŷ - y), ±clip_gradient)``;
    * ``b_u -= bias_lr (g + l2_bias b_u)`` (same for ``b_i``), and simultaneously
      ``p_u -= latent_lr (g q_i + l2_latent p_u)``, ``q_i -= latent_lr (g p_u + l2_latent q_i)``.

    A new user's, then a new item's, latent vector is drawn from one
    ``np.random.RandomState(seed)`` in that order, as River's shared initialiser does, so with
    the same seed the weights equal River's (up to float rounding). Instead of one small array
    per key in dicts, users and items are rows of 2-d float64 arrays grown geometrically;
    items are addressed by their dense row (see :class:`ItemIndex`), users by id.

    Unlike River, :meth:`predict_one` never creates an unknown user or item (it scores them
    with zero weights), so predicting does not consume random draws.

    Parameters
    ----------
    n_factors
        Number of latent factors.
    bias_lr, latent_lr
        SGD learning rates of the biases and of the latent vectors.
    l2_bias, l2_latent
        L2 penalties (River's ``l2_bias``/``l2_latent``).
    init_mu, init_sigma, seed
        The latent initialiser ``Normal(mu, sigma, seed)``.
    clip_gradient
        Bound on the absolute loss gradient.

    Examples
    --------

    >>> mf = NumpyBiasedMF(n_factors=2, bias_lr=0.1, latent_lr=0.1, seed=1)
    >>> for user, row, y in [(1, 0, 4.0), (1, 1, 2.0), (2, 0, 5.0)]:
    ...     _ = mf.learn_one(user, row, y)
    >>> round(mf.predict_one(2, 0), 4), round(mf.global_mean, 4)
    (4.213, 3.6667)
    >>> mf.n_users, mf.n_items
    (2, 2)

    """

    def __init__(
        self,
        n_factors: int = 10,
        bias_lr: float = 0.025,
        latent_lr: float = 0.05,
        l2_bias: float = 0.0,
        l2_latent: float = 0.0,
        init_mu: float = 0.0,
        init_sigma: float = 0.1,
        seed: int | None = None,
        clip_gradient: float = 1e12,
    ) -> None:
        self.n_factors = n_factors
        self.bias_lr = bias_lr
        self.latent_lr = latent_lr
        self.l2_bias = l2_bias
        self.l2_latent = l2_latent
        self.init_mu = init_mu
        self.init_sigma = init_sigma
        self.seed = seed
        self.clip_gradient = clip_gradient
        self._rng = np.random.RandomState(seed)
        self.mean_n = 0.0
        self.global_mean = 0.0
        self.users: dict[int, int] = {}
        self.user_factors = np.zeros((64, n_factors))
        self.user_biases = np.zeros(64)
        self.item_factors = np.zeros((64, n_factors))
        self.item_biases = np.zeros(64)
        self.item_known = np.zeros(64, dtype=bool)

    # --- sizes -----------------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return int(np.count_nonzero(self.item_known))

    def ensure_items(self, capacity: int) -> None:
        """Make room for item rows ``0..capacity-1`` (geometric growth)."""
        size = len(self.item_biases)
        if capacity <= size:
            return
        size = max(2 * size, capacity)
        self.item_factors = _grow(self.item_factors, size)
        self.item_biases = _grow(self.item_biases, size)
        self.item_known = _grow(self.item_known, size)

    def _user_row(self, user: int) -> int:
        row = self.users.get(user)
        if row is None:
            row = self.users[user] = len(self.users)
            if row == len(self.user_biases):
                self.user_factors = _grow(self.user_factors, 2 * row)
                self.user_biases = _grow(self.user_biases, 2 * row)
            self.user_factors[row] = self._draw()
        return row

    def _draw(self) -> np.ndarray:
        return self._rng.normal(loc=self.init_mu, scale=self.init_sigma, size=self.n_factors)

    # --- learning --------------------------------------------------------------------------
    def learn_one(self, user: int, item: int, y: float) -> float:
        """One SGD step on ``(user, item row, y)``; returns the prediction made before ``y``
        was seen (the step's prediction minus the change ``y`` made to the global mean)."""
        mean_before = self.global_mean
        self.mean_n += 1.0
        self.global_mean += (1.0 / self.mean_n) * (y - self.global_mean)
        u = self._user_row(user)
        if item >= len(self.item_biases):
            self.ensure_items(item + 1)
        if not self.item_known[item]:
            self.item_known[item] = True
            self.item_factors[item] = self._draw()
        p, q = self.user_factors[u], self.item_factors[item]
        bu, bi = self.user_biases.item(u), self.item_biases.item(item)
        y_pred = self.global_mean + bu + bi + p.dot(q).item()
        g = 2.0 * (y_pred - y)
        clip = self.clip_gradient
        g = -clip if g < -clip else clip if g > clip else g
        self.user_biases[u] = bu - self.bias_lr * (g + self.l2_bias * bu)
        self.item_biases[item] = bi - self.bias_lr * (g + self.l2_bias * bi)
        lr, l2 = self.latent_lr, self.l2_latent
        if l2:
            p_old = p.copy()
            p -= lr * (g * q + l2 * p)
            q -= lr * (g * p_old + l2 * q)
        else:
            p_old = p.copy()
            p -= (lr * g) * q
            q -= (lr * g) * p_old
        return y_pred - (self.global_mean - mean_before)

    # --- reading ---------------------------------------------------------------------------
    def user(self, user: int) -> tuple[float, np.ndarray | None]:
        """``(bias, factors)`` of ``user``; ``(0, None)`` when unknown."""
        row = self.users.get(user)
        if row is None:
            return 0.0, None
        return float(self.user_biases[row]), self.user_factors[row]

    def predict_one(self, user: int, item: int | None) -> float:
        """Unclipped predicted rating; unknown users/items count with zero weights."""
        y = self.global_mean
        u = self.users.get(user)
        known = item is not None and item < len(self.item_known) and self.item_known[item]
        if u is not None:
            y += self.user_biases[u]
        if known:
            y += self.item_biases[item]
            if u is not None:
                y += float(self.user_factors[u] @ self.item_factors[item])
        return float(y)

    def set_item(self, item: int, factors: np.ndarray | None, bias: float | None) -> None:
        """Overwrite an item's weights (a warm start); it then counts as known."""
        self.ensure_items(item + 1)
        if factors is not None:
            self.item_factors[item] = factors
            self.item_known[item] = True
        if bias is not None:
            self.item_biases[item] = bias

    def set_user(self, user: int, factors: np.ndarray | None, bias: float | None) -> None:
        """Overwrite a user's weights (a warm start); draws factors when only a bias is set."""
        u = self._user_row(user)
        if factors is not None:
            self.user_factors[u] = factors
        if bias is not None:
            self.user_biases[u] = bias

    # Checkpoints hold only the rows in use.
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        n = len(self.users)
        state["user_factors"] = self.user_factors[:n].copy()
        state["user_biases"] = self.user_biases[:n].copy()
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        size = max(64, 2 * len(self.users))
        self.user_factors = _grow(self.user_factors, size)
        self.user_biases = _grow(self.user_biases, size)

    def __repr__(self) -> str:
        return f"NumpyBiasedMF(n_factors={self.n_factors}, users={self.n_users}, items={self.n_items})"


def _grow(array: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((size, *array.shape[1:]), dtype=array.dtype)
    out[: len(array)] = array
    return out
