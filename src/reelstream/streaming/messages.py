"""Raw messages as they come off the topic, dead letters as they go to the DLQ, the outcome
of a batch, and what the worker and its processor process say to each other (plain data:
the Faust process imports this, not the processor).

Over the channel (:mod:`reelstream.streaming.processor_child`) the worker sends
:class:`BatchRequest`, :class:`StatusReport` (no reply) and :class:`CloseRequest`; the
processor answers each batch with its :class:`BatchOutcome` and the close with
:class:`Closed`, in request order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "BatchOutcome",
    "BatchRequest",
    "Closed",
    "CloseRequest",
    "DeadLetter",
    "RawMessage",
    "StatusReport",
]


@dataclass(frozen=True, slots=True)
class RawMessage:
    value: bytes | None
    key: bytes | None = None
    topic: str = ""
    partition: int = -1
    offset: int = -1

    def __reduce__(self) -> tuple[type[RawMessage], tuple[bytes | None, bytes | None, str, int, int]]:
        # Pickled as its fields: a batch crosses to the processor process as cheaply as a
        # list of tuples (docs/performance.md); the default for slotted classes costs 4x.
        return RawMessage, (self.value, self.key, self.topic, self.partition, self.offset)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that could not be processed: its original bytes plus why (Kafka Connect style)."""

    message: RawMessage
    error: str
    stage: str  # "validate" | "process"

    def headers(self) -> list[tuple[str, bytes]]:
        m = self.message
        return [
            ("reelstream.error", self.error.encode()[:4000]),
            ("reelstream.stage", self.stage.encode()),
            ("reelstream.source.topic", m.topic.encode()),
            ("reelstream.source.partition", str(m.partition).encode()),
            ("reelstream.source.offset", str(m.offset).encode()),
        ]


@dataclass
class BatchOutcome:
    stored: int = 0
    duplicates: int = 0
    users_refreshed: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)
    #: Lists of this batch or an earlier one still wait to be written (a backlog): the
    #: worker keeps those batches unacknowledged until an outcome says none wait, so a
    #: worker that dies meanwhile leaves them to the partitions' next owner.
    lists_owed: bool = False


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """Process these messages; answered with their :class:`BatchOutcome`."""

    messages: list[RawMessage]


@dataclass(frozen=True, slots=True)
class StatusReport:
    """The worker's part of the heartbeat (consumer lag, reason, restarts); no reply."""

    fields: dict


@dataclass(frozen=True, slots=True)
class CloseRequest:
    """Finish the batches sent before, checkpoint, and stop; answered with :class:`Closed`."""


@dataclass(frozen=True, slots=True)
class Closed:
    """The processor checkpointed and stops."""
