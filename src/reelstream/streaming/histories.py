"""The stored history of users the model has not seen on this worker yet.

The model must know every movie a user rated to exclude it from their top-N, also when those
ratings were learned by another worker (before a rebalance) or before a restart. The history
is read while a batch is prepared, before the batch is stored (so it holds only earlier
ratings), and handed to the model when the batch is applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reelstream.models.online import OnlineRecommender

__all__ = ["KnownUsers"]


class KnownUsers:
    """Users whose stored history the model knows."""

    def __init__(self) -> None:
        # Rebound, never mutated: the prepare thread reads it while apply adds to it.
        self._users: frozenset[int] = frozenset()

    def read_new(
        self, user_ids: set[int], read: Callable[[set[int]], dict[int, set[int]]]
    ) -> dict[int, set[int]]:
        """The histories of those of ``user_ids`` not known yet, via ``read``."""
        new_users = user_ids - self._users
        return read(new_users) if new_users else {}

    def forget(self, user_id: int) -> None:
        """The user's next rating reads their stored history again (none, once deleted)."""
        self._users = self._users - {user_id}

    def apply(self, model: OnlineRecommender, histories: dict[int, set[int]]) -> None:
        """Tell the model which movies these users rated; they are known from now on."""
        for user_id, movies in histories.items():
            for movie in movies:
                row = model.index.get(movie)
                if row is not None:
                    model.rated.add(user_id, row)
        if histories:
            self._users = self._users | histories.keys()
