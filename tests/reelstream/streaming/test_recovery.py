"""Recovery pieces: an unusable checkpoint is skipped, the catch-up reads page by page (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from reelstream.models import OnlineRecommender
from reelstream.store.records import Checkpoint
from reelstream.streaming.recovery import catch_up, load_checkpoint


def test_a_corrupt_checkpoint_is_skipped_and_a_good_one_restored():
    model = OnlineRecommender()
    model.learn_one(1, 2, 4.0, 0.0)
    now = datetime.now(UTC)
    good = Checkpoint("w", model.to_bytes(), {"seq": 12}, 1, now)
    bad = Checkpoint("w", b"not a model", {"seq": 99}, 1, now)

    assert load_checkpoint(lambda name: None, "w") is None
    assert load_checkpoint(lambda name: bad, "w") is None
    restored, offsets = load_checkpoint(lambda name: good, "w")
    assert (restored.events_learned, offsets) == (1, {"seq": 12})


def test_catch_up_learns_every_page_in_order_and_skips_a_failing_row():
    rows = [SimpleNamespace(seq=s, event=SimpleNamespace(event_id=s)) for s in range(1, 8)]
    learned = []

    def page(after):
        return [r for r in rows if r.seq > after][:3]

    def learn(row):
        if row.seq == 4:
            raise ValueError("bad")
        learned.append(row.seq)

    assert catch_up(page, 0, learn) == 7
    assert learned == [1, 2, 3, 5, 6, 7]
