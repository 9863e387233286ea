"""The web app's pure helpers: list changes, reasons, rates, windowed percentiles, stalls."""

from __future__ import annotations

import pytest

from ui.logic import (
    change_label,
    list_changes,
    rates,
    reason_for,
    served_version,
    stalled_workers,
    stars,
    summarise_changes,
    window_quantiles,
)


def test_stars() -> None:
    assert stars(4.5) == "★★★★½ 4.5" and stars(0.5) == "½ 0.5" and stars(3.0) == "★★★ 3"


def test_list_changes() -> None:
    changes = list_changes([1, 2, 3], [3, 1, 4])
    assert changes == {3: 2, 1: -1, 4: None}
    assert [change_label(changes[m]) for m in (3, 1, 4)] == ["▲ 2", "▼ 1", "new"]
    assert change_label(0) == "="
    assert summarise_changes([1, 2, 3], [3, 1, 4]) == "list changed: 1 new, 1 up, 1 down, 1 dropped"
    assert summarise_changes([1, 2], [1, 2]) == "list unchanged"


def test_reason_is_the_models_own_contributions() -> None:
    rated = {4: {"title": "Alien", "rating": 5.0}, 3: {"title": "Heat", "rating": 4.0}}
    item = {"genres": ["Musical"], "because": [{"movie_id": 3, "share": 0.62},
                                              {"movie_id": 9, "share": 0.2}]}
    assert reason_for(item, "personal", rated) == "because you rated Heat 4★ (62%), movie 9 (20%)"
    assert reason_for({"because": []}, "personal", rated) == "predicted from your ratings"
    assert reason_for(item, "popular", rated) == "popular with recent raters"


def test_rates_from_counters_survive_a_restart() -> None:
    samples = [(0.0, {"n": 0}), (2.0, {"n": 100}), (4.0, {"n": 10})]
    assert rates(samples, "n") == [(2.0, 50.0), (4.0, 5.0)]


def test_window_quantiles_use_only_what_was_added() -> None:
    bounds = [0.001, 0.002]
    # 100 old fast requests, then 10 new ones all in (1, 2] ms.
    p50, p95 = window_quantiles(bounds, [100, 0, 0], [100, 10, 0])
    assert p50 == pytest.approx(0.0015) and p95 == pytest.approx(0.00195)
    assert window_quantiles(bounds, [1, 0, 0], [1, 0, 0]) == [None, None]


def test_served_version() -> None:
    assert served_version("champion-v12+online") == "12"
    assert served_version("online") is None and served_version(None) is None


def _snap(lag: int, learned: int, stalled: bool = False) -> dict:
    return {"workers": [{"worker_id": "w", "total_lag": lag, "events_learned": learned,
                         "stalled": stalled, "reason": "no heartbeat for 20 s" if stalled else None}]}


def test_stalled_workers() -> None:
    assert stalled_workers([_snap(0, 1), _snap(5, 9), _snap(9, 20)]) == {}
    assert stalled_workers([_snap(0, 1), _snap(5, 1), _snap(9, 1)]) == {
        "w": "lag grew from 0 to 9 and nothing was learned"}
    assert stalled_workers([_snap(0, 1, stalled=True)]) == {"w": "no heartbeat for 20 s"}
    assert stalled_workers([]) == {}
