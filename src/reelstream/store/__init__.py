"""The durable PostgreSQL event store: schema migrations and :class:`EventStore`.

>>> from reelstream.store import EventStore, upgrade
>>> upgrade(dsn)                       # doctest: +SKIP
['0001_initial']
>>> with EventStore(dsn) as store:     # doctest: +SKIP
...     new_ids = store.insert_ratings(events)
"""

from reelstream.store.event_store import SNAPSHOT_COLUMNS, EventStore
from reelstream.store.migrate import applied_migrations, available_migrations, upgrade
from reelstream.store.records import Checkpoint, Movie, SequencedRating, StoredRating

__all__ = [
    "EventStore",
    "Movie",
    "StoredRating",
    "SequencedRating",
    "Checkpoint",
    "SNAPSHOT_COLUMNS",
    "upgrade",
    "applied_migrations",
    "available_migrations",
]
