"""Forgetting a user in the event store: their ratings go (the catalogue and checkpoints
are not theirs; a worker checkpoints again once it has dropped them from its model)."""

from __future__ import annotations

from reelstream.store._base import StoreBase

__all__ = ["UserErasure"]


class UserErasure(StoreBase):
    def delete_user_ratings(self, user_id: int) -> int:
        """Delete every rating of ``user_id``; returns how many there were."""
        with self._conn.transaction():
            return self._conn.execute("DELETE FROM ratings WHERE user_id = %s",
                                      (int(user_id),)).rowcount
