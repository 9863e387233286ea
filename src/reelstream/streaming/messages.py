"""Raw messages as they come off the topic, dead letters as they go to the DLQ, and the
outcome of a batch (plain data: the Faust process imports this, not the processor)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RawMessage", "DeadLetter", "BatchOutcome"]


@dataclass(frozen=True, slots=True)
class RawMessage:
    value: bytes | None
    key: bytes | None = None
    topic: str = ""
    partition: int = -1
    offset: int = -1


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
