"""Full collections freeze their survivors, and thaw them now and then."""

from __future__ import annotations

import gc

import pytest

from reelstream.streaming import gc_pauses


@pytest.fixture
def freezing():
    gc_pauses.keep_full_collections_short()
    yield
    gc.callbacks.remove(gc_pauses._after_collection)
    gc.unfreeze()


def test_what_survives_a_full_collection_is_frozen(freezing):
    gc.unfreeze()
    gc.collect()
    assert gc.get_freeze_count() > 0
    gc_pauses.keep_full_collections_short()  # a second call adds no second callback
    assert gc.callbacks.count(gc_pauses._after_collection) == 1


def test_an_hour_on_the_frozen_objects_are_thawed_for_the_next_collection(freezing, monkeypatch):
    gc.collect()
    monkeypatch.setattr(gc_pauses, "THAW_EVERY_S", 0.0)
    gc.collect()
    assert gc.get_freeze_count() == 0
