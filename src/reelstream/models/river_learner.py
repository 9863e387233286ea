"""The online model's rating learner: a River ``reco`` model, read through a row-keyed view.

River learns; this class only reads River's weights (for the numpy mirror that ranks every
movie at once, the item deltas shared between workers and checkpoints) and writes them where
the stream needs it (a warm start from the champion, other workers' item deltas).
"""

from __future__ import annotations

import numpy as np

from .river_weights import pack_weights, unpack_weights

__all__ = ["RiverLearner"]


class RiverLearner:
    """A River model learning ``(user, item row, rating)``; items are keyed by their dense
    :class:`~reelstream.models.item_index.ItemIndex` row.

    Works with any River ``reco`` regressor whose weights live in ``u_biases``/``i_biases``
    and/or ``u_latents``/``i_latents`` (``BiasedMF``, ``FunkMF``, ``Baseline``): the ranking
    reads them directly. :meth:`learn_one` is River's own ``learn_one``; it first returns
    the prediction the model made before seeing the rating (test-then-learn). Unlike River's
    ``predict_one``, :meth:`predict_one` never creates a user or an item (so it consumes no
    random draws of the latent initialiser).

    Examples
    --------

    >>> from river import optim, reco
    >>> river = reco.BiasedMF(n_factors=2, bias_optimizer=optim.SGD(0.1),
    ...                       latent_optimizer=optim.SGD(0.1), seed=1)
    >>> mf = RiverLearner(river, n_factors=2)
    >>> for user, row, y in [(1, 0, 4.0), (1, 1, 2.0), (2, 0, 5.0)]:
    ...     _ = mf.learn_one(user, row, y)
    >>> round(mf.predict_one(2, 0), 4) == round(river.predict_one(2, 0), 4)
    True
    >>> mf.n_users, mf.n_items, round(mf.global_mean, 4)
    (2, 2, 3.6667)

    """

    def __init__(self, model, n_factors: int) -> None:  # noqa: ANN001 - a river.reco model
        self.river = model
        self.n_factors = n_factors
        self._rows = 0
        self._zeros = np.zeros(n_factors)
        self._bind()

    def _bind(self) -> None:
        """Shortcuts to River's weight dicts (River rebinds none of them while learning)."""
        m = self.river
        self._ub = getattr(m, "u_biases", None)
        self._ib = getattr(m, "i_biases", None)
        self._uf = getattr(m, "u_latents", None)
        self._if = getattr(m, "i_latents", None)
        self._mean = getattr(m, "global_mean", None)

    # --- sizes -----------------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        return len(self._uf if self._uf is not None else self._ub)

    @property
    def n_items(self) -> int:
        return len(self._if if self._if is not None else self._ib)

    @property
    def n_rows(self) -> int:
        """Item rows allocated (see :meth:`ensure_items`)."""
        return self._rows

    def ensure_items(self, capacity: int) -> None:
        """Make room for item rows ``0..capacity-1`` (River's dicts grow by themselves)."""
        self._rows = max(self._rows, capacity)

    # --- the global mean (a river.stats.Mean; 0 for models without one) -------------------------
    @property
    def global_mean(self) -> float:
        return self._mean._mean if self._mean is not None else 0.0

    @global_mean.setter
    def global_mean(self, value: float) -> None:
        if self._mean is not None:
            self._mean._mean = float(value)

    @property
    def mean_n(self) -> float:
        return self._mean.n if self._mean is not None else 0.0

    @mean_n.setter
    def mean_n(self, value: float) -> None:
        if self._mean is not None:
            self._mean.n = float(value)

    # --- learning --------------------------------------------------------------------------
    def learn_one(self, user: int, item: int, y: float) -> float:
        """River's ``learn_one``; returns the prediction made before ``y`` was seen."""
        y_pred = self.predict_one(user, item)
        self.river.learn_one(user, item, y)
        if item >= self._rows:
            self._rows = item + 1
        return y_pred

    # --- reading ---------------------------------------------------------------------------
    def predict_one(self, user: int, item: int | None) -> float:
        """River's prediction from its current weights; an unknown user or item counts with
        zero weights and is not created."""
        y = self.global_mean
        if self._ub is not None:
            y += self._ub.get(user, 0.0)
            if item is not None:
                y += self._ib.get(item, 0.0)
        if self._uf is not None and item is not None:
            p, q = self._uf.get(user), self._if.get(item)
            if p is not None and q is not None:
                y += float(p.dot(q))
        return y

    def user(self, user: int) -> tuple[float, np.ndarray | None]:
        """``(bias, factors)`` of ``user``; ``(0, None)`` when unknown."""
        bias = self._ub.get(user, 0.0) if self._ub is not None else 0.0
        return bias, (self._uf.get(user) if self._uf is not None else None)

    def item_factors_of(self, rows) -> np.ndarray:  # noqa: ANN001
        """Factors of the item ``rows``, shape ``(len(rows), n_factors)`` (zeros if unseen)."""
        if self._if is None:
            return np.zeros((len(rows), self.n_factors))
        get, zeros = self._if.get, self._zeros
        return np.array([get(r, zeros) for r in rows], dtype=np.float64).reshape(
            -1, self.n_factors
        )

    def item_biases_of(self, rows) -> list[float]:  # noqa: ANN001
        if self._ib is None:
            return [0.0] * len(rows)
        get = self._ib.get
        return [get(r, 0.0) for r in rows]

    @property
    def item_factors(self) -> np.ndarray:
        return self.item_factors_of(range(self._rows))

    @property
    def item_biases(self) -> np.ndarray:
        return np.array(self.item_biases_of(range(self._rows)), dtype=np.float64)

    def item_state(self, row: int) -> tuple[np.ndarray | None, float]:
        """A copy of the item's ``(factors or None if unseen, bias)``."""
        q = self._if.get(row) if self._if is not None else None
        b = self._ib.get(row, 0.0) if self._ib is not None else 0.0
        return (None if q is None else q.copy()), b

    # --- writing (warm start, other workers' deltas) -----------------------------------------
    def add_to_item(self, row: int, factors: np.ndarray, bias: float) -> None:
        """Add another worker's change to an item (an item never seen starts from it)."""
        self.ensure_items(row + 1)
        if self._if is not None:
            q = self._if.get(row)
            if q is None:
                self._if[row] = np.array(factors, dtype=np.float64)
            else:
                q += factors
        if self._ib is not None:
            self._ib[row] = self._ib.get(row, 0.0) + bias

    def set_item(self, item: int, factors: np.ndarray | None, bias: float | None) -> None:
        """Overwrite an item's weights (a warm start)."""
        self.ensure_items(item + 1)
        if factors is not None and self._if is not None:
            self._if[item] = np.array(factors, dtype=np.float64)
        if bias is not None and self._ib is not None:
            self._ib[item] = float(bias)

    def set_user(self, user: int, factors: np.ndarray | None, bias: float | None) -> None:
        """Overwrite a user's weights (a warm start)."""
        if factors is not None and self._uf is not None:
            self._uf[user] = np.array(factors, dtype=np.float64)
        if bias is not None and self._ub is not None:
            self._ub[user] = float(bias)

    def forget_user(self, user: int) -> bool:
        """Drop ``user``'s weights from River's dicts; False when unknown. A later rating of
        theirs starts from River's fresh draw, as for any new user."""
        known = False
        for weights in (self._ub, self._uf):
            if weights is not None and weights.pop(user, None) is not None:
                known = True
        return known

    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in _SHORTCUTS}
        state["river"], state["_packed"] = pack_weights(self.river, self.n_factors)
        return state

    def __setstate__(self, state: dict) -> None:
        packed = state.pop("_packed")
        self.__dict__.update(state)
        unpack_weights(self.river, packed)
        self._bind()

    def __repr__(self) -> str:
        return f"RiverLearner({type(self.river).__name__}, users={self.n_users}, items={self.n_items})"


_SHORTCUTS = ("_ub", "_ib", "_uf", "_if", "_mean")
