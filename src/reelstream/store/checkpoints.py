"""Worker checkpoints: a model and the offsets it has seen, saved as one row."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from reelstream.store._base import StoreBase
from reelstream.store.records import Checkpoint

__all__ = ["CheckpointTable"]


class CheckpointTable(StoreBase):
    def save_checkpoint(
        self, name: str, model: bytes, offsets: dict[str, int | str], events_learned: int
    ) -> None:
        """Save model state and consumed offsets atomically (one row, one statement)."""
        stored = {k: _offset(v) for k, v in offsets.items()}
        self._conn.execute(
            "INSERT INTO worker_checkpoints (name, model, offsets, events_learned, updated_at)"
            " VALUES (%s, %s, %s, %s, now())"
            " ON CONFLICT (name) DO UPDATE SET model = EXCLUDED.model,"
            " offsets = EXCLUDED.offsets, events_learned = EXCLUDED.events_learned,"
            " updated_at = EXCLUDED.updated_at",
            (name, model, Jsonb(stored), events_learned),
        )

    def load_checkpoint(self, name: str) -> Checkpoint | None:
        row = self._conn.execute(
            "SELECT name, model, offsets, events_learned, updated_at"
            " FROM worker_checkpoints WHERE name = %s",
            (name,),
        ).fetchone()
        if row is None:
            return None
        return Checkpoint(
            name=row[0],
            model=bytes(row[1]),
            offsets={str(k): _offset(v) for k, v in (row[2] or {}).items()},
            events_learned=int(row[3]),
            updated_at=row[4],
        )

    def delete_checkpoint(self, name: str) -> bool:
        cur = self._conn.execute("DELETE FROM worker_checkpoints WHERE name = %s", (name,))
        return cur.rowcount > 0


def _offset(value: int | str) -> int | str:
    """An offset as stored: a stream id stays a string, a sequence is an int (also when it
    comes as a numpy integer)."""
    return value if isinstance(value, str) else int(value)
