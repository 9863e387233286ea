"""The supervisor: in-order acknowledgement, restarts, bisection, dead letters (pure: a fake
processor stands in for the processor process)."""

from __future__ import annotations

import asyncio

from reelstream.streaming.messages import BatchOutcome, DeadLetter, RawMessage
from reelstream.streaming.processor_child import ProcessorDied
from reelstream.streaming.supervisor import ProcessorSupervisor

KILL = b"kill"  # a message the fake processor dies on


class FakeProcessor:
    """Stores every message it is given; dies on a batch holding ``KILL`` (or when told)."""

    def __init__(self, seen: list[bytes], *, die_after: int | None = None) -> None:
        self.seen = seen
        self.alive = True
        self.die_after = die_after  # batches it answers before dying
        self.statuses: list[dict] = []
        self.closed = False

    async def handle(self, batch: list[RawMessage]) -> BatchOutcome:
        await asyncio.sleep(0)
        if not self.alive:
            raise ProcessorDied("gone")
        if any(m.value == KILL for m in batch) or self.die_after == 0:
            self.alive = False
            raise ProcessorDied("killed")
        if self.die_after is not None:
            self.die_after -= 1
        letters = [DeadLetter(m, "bad", "validate") for m in batch if m.value == b"bad"]
        good = [m.value for m in batch if m.value != b"bad"]
        fresh = [v for v in good if v not in self.seen]
        self.seen.extend(fresh)
        return BatchOutcome(stored=len(fresh), duplicates=len(good) - len(fresh), dead_letters=letters)

    async def submit_batch(self, batch: list[RawMessage]) -> asyncio.Future[BatchOutcome]:
        return asyncio.ensure_future(self.handle(batch))

    async def send_status(self, status: dict) -> None:
        self.statuses.append(status)

    async def close(self) -> None:
        self.closed = True


def _batch(*values: bytes) -> list[RawMessage]:
    return [RawMessage(value=v, topic="ratings", offset=i) for i, v in enumerate(values)]


def _run(batches: list[list[RawMessage]], processors: list[FakeProcessor], *, refusals: int = 0):
    """Run ``batches`` through a supervisor; returns (acknowledged tokens, dead letters sent,
    supervisor, started processors)."""
    acked: list[int] = []
    letters: list[DeadLetter] = []
    started: list[FakeProcessor] = []
    refused = [refusals]

    async def start() -> FakeProcessor:
        started.append(processors[len(started)])
        return started[-1]

    async def send(letter: DeadLetter) -> None:
        if refused[0]:
            refused[0] -= 1
            raise ConnectionError("broker away")
        letters.append(letter)

    async def main() -> ProcessorSupervisor:
        supervisor = ProcessorSupervisor(
            start, send, batches_in_flight=2, first_restart_delay_s=0, dead_letter_retry_s=0
        )

        async def source():
            for token, batch in enumerate(batches):
                yield token, batch

        async def acknowledge(token: int) -> None:
            acked.append(token)

        await asyncio.wait_for(supervisor.run(source(), acknowledge), 10)  # ends with the source
        return supervisor

    supervisor = asyncio.run(main())
    return acked, letters, supervisor, started


def test_batches_are_acknowledged_in_order_after_their_dead_letters():
    seen: list[bytes] = []
    acked, letters, supervisor, started = _run(
        [_batch(b"a", b"bad"), _batch(b"b"), _batch(b"c")], [FakeProcessor(seen)]
    )
    assert acked == [0, 1, 2]
    assert [(l.message.value, l.stage) for l in letters] == [(b"bad", "validate")]
    assert seen == [b"a", b"b", b"c"] and len(started) == 1 and supervisor.restarts == 0


def test_a_dead_processor_is_restarted_and_gets_the_unacknowledged_batches_again():
    seen: list[bytes] = []
    acked, letters, supervisor, started = _run(
        [_batch(b"a"), _batch(b"b"), _batch(b"c"), _batch(b"d")],
        [FakeProcessor(seen, die_after=1), FakeProcessor(seen)],
    )
    assert acked == [0, 1, 2, 3] and letters == []
    assert sorted(seen) == [b"a", b"b", b"c", b"d"]  # each stored once
    assert len(started) == 2 and supervisor.restarts == 1


def test_the_message_that_kills_the_processor_is_found_by_halving_and_dead_lettered():
    seen: list[bytes] = []
    acked, letters, supervisor, started = _run(
        [_batch(b"a", b"b", KILL, b"c")], [FakeProcessor(seen) for _ in range(5)]
    )
    assert acked == [0]
    assert [(l.message.value, l.stage) for l in letters] == [(KILL, "process")]
    assert "died on this message" in letters[0].error
    assert sorted(seen) == [b"a", b"b", b"c"]
    assert supervisor.restarts == len(started) - 1 >= 2


def test_a_refused_dead_letter_is_sent_again_and_the_batch_waits_for_it():
    seen: list[bytes] = []
    acked, letters, supervisor, _ = _run([_batch(b"bad"), _batch(b"x")], [FakeProcessor(seen)], refusals=2)
    assert acked == [0, 1] and [l.message.value for l in letters] == [b"bad"]
    assert supervisor.reason is None  # cleared once the broker took it


def test_status_and_close_reach_the_processor():
    processor = FakeProcessor([])

    async def main() -> None:
        async def start() -> FakeProcessor:
            return processor

        async def send(letter: DeadLetter) -> None:
            return None

        supervisor = ProcessorSupervisor(start, send, batches_in_flight=1)
        await supervisor.send_status({0: 3}, None)  # before start: nothing to tell
        await supervisor.processor()
        await supervisor.send_status({0: 3}, "why", 25)
        await supervisor.close()

    asyncio.run(main())
    assert processor.statuses == [{"lag": {0: 3}, "reason": "why", "restarts": 0, "unread": 25}]
    assert processor.closed


def test_batches_that_come_while_every_slot_is_taken_are_joined_and_each_acknowledged():
    seen: list[bytes] = []
    sizes: list[int] = []
    acked: list[int] = []

    class HeldProcessor(FakeProcessor):
        """Answers nothing until the source has given every batch."""

        async def handle(self, batch: list[RawMessage]) -> BatchOutcome:
            await released.wait()
            sizes.append(len(batch))
            return await super().handle(batch)

    async def main() -> None:
        async def start() -> FakeProcessor:
            return HeldProcessor(seen)

        async def send(letter: DeadLetter) -> None:
            return None

        async def source():
            for token in range(7):
                yield token, _batch(b"%d" % token)
                await asyncio.sleep(0)
            released.set()

        async def acknowledge(token: int) -> None:
            acked.append(token)

        supervisor = ProcessorSupervisor(start, send, batches_in_flight=2, join_up_to=10)
        await asyncio.wait_for(supervisor.run(source(), acknowledge), 10)

    released = asyncio.Event()
    asyncio.run(main())
    assert sizes == [1, 1, 5]  # two in flight, the five that came meanwhile joined
    assert acked == list(range(7))
    assert sorted(seen) == sorted(b"%d" % t for t in range(7))


class OwingProcessor(FakeProcessor):
    """Leaves the lists of a batch holding ``b"late"`` waiting (a backlog) until a batch
    holding ``b"due"`` or an empty one (the worker asking for them) writes them."""

    def __init__(self, seen: list[bytes], acked: list[int]) -> None:
        super().__init__(seen)
        self.acked = acked
        self.waiting = False
        self.asked = 0  # empty batches received
        self.acked_when_handled: list[list[int]] = []

    async def handle(self, batch: list[RawMessage]) -> BatchOutcome:
        self.acked_when_handled.append(list(self.acked))
        outcome = await super().handle(batch)
        values = {m.value for m in batch}
        self.asked += not batch
        self.waiting = b"late" in values or (self.waiting and b"due" not in values and bool(batch))
        outcome.lists_owed = self.waiting
        return outcome


def _run_owing(
    source_of, flush_after_s: float = 0.05, owe_at_most: int = 50_000
) -> tuple[list[int], OwingProcessor]:
    acked: list[int] = []
    processor = OwingProcessor([], acked)

    async def main() -> None:
        async def start() -> FakeProcessor:
            return processor

        async def send(letter: DeadLetter) -> None:
            return None

        async def acknowledge(token: int) -> None:
            acked.append(token)

        supervisor = ProcessorSupervisor(
            start, send, batches_in_flight=2, flush_after_s=flush_after_s, owe_at_most=owe_at_most
        )
        await asyncio.wait_for(supervisor.run(source_of(acked), acknowledge), 10)

    asyncio.run(main())
    return acked, processor


def _replaying(batches: list[list[RawMessage]]):
    """A source of ``batches`` (tokens 0, 1, ...) for :func:`_run_owing`."""

    def source(acked):
        async def gen():
            for token, batch in enumerate(batches):
                yield token, batch
        return gen()

    return source


def test_batches_whose_lists_wait_stay_unacknowledged_until_an_outcome_says_none_wait():
    batches = [_batch(b"late", b"a"), _batch(b"b"), _batch(b"due"), _batch(b"late", b"d")]

    acked, processor = _run_owing(_replaying(batches), flush_after_s=60)
    assert processor.acked_when_handled[2] == []  # 0 and 1 owed lists when "due" came
    assert acked == [0, 1, 2, 3]  # the last, owed at the source's end, after asking for lists
    assert processor.asked == 1


def test_when_no_batch_comes_the_supervisor_asks_for_the_waiting_lists():
    before_next: list[list[int]] = []

    def source(acked):
        async def gen():
            yield 0, _batch(b"late", b"a")
            await asyncio.sleep(0.5)  # the stream pauses
            before_next.append(list(acked))
            yield 1, _batch(b"b")
        return gen()

    acked, processor = _run_owing(source)
    assert before_next == [[0]]  # acknowledged during the pause, once the lists were written
    assert processor.asked >= 1 and acked == [0, 1]


def test_a_long_backlog_asks_for_its_lists_once_enough_events_wait():
    batches = [_batch(b"late", b"x%d" % i) for i in range(6)]

    acked, processor = _run_owing(_replaying(batches), flush_after_s=60, owe_at_most=4)
    assert processor.asked >= 2  # every second batch (4 events), not only at the end
    assert processor.acked_when_handled[-1] != []  # acknowledged while the backlog lasted
    assert acked == list(range(6))
