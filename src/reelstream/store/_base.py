"""What every part of the event store works through: its connection, one query at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

__all__ = ["StoreBase"]


class StoreBase:
    """The connection the store's parts share (:class:`~reelstream.store.EventStore` owns it)."""

    @property
    def _conn(self) -> psycopg.Connection[Any]:
        raise NotImplementedError

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
        assert row is not None
        return row[0]
