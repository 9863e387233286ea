"""Item state shared between workers: what one worker learns about movies reaches the others.

Workers are partitioned by user; the item side of the model (factors, biases, rating counts
and means, transitions, the global mean) is learned from every user. Each worker records
what its own events changed on that side (:class:`ItemJournal`), publishes it as an
:class:`ItemDelta` after each batch, and adds the deltas of the others
(:func:`apply_delta`): a parameter-server pattern without a server, where the merge rule is
a sum of contributions, so an event's effect counts once in every worker whoever learned it.
The transport (a Redis stream every worker appends to and reads in full) is
:mod:`reelstream.streaming.item_stream`.
"""

from __future__ import annotations

from .delta import ItemDelta
from .journal import ItemJournal
from .merge import apply_delta

__all__ = ["ItemDelta", "ItemJournal", "apply_delta"]
