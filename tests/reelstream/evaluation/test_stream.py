from __future__ import annotations

import math

import pytest

from reelstream.evaluation.stream import StreamResult, default_models, prequential, read_ratings
from reelstream.models import Popularity, RiverMF


def test_hit_rate_is_computed_before_learning():
    # Movie 10 is the only candidate for user 2 at event 2 -> hit; movie 20 is new -> miss.
    events = [(1, 10, 4.0, 0), (2, 10, 4.0, 1), (3, 20, 5.0, 2), (3, 10, 4.0, 3)]
    res = prequential({"pop": Popularity()}, events, k=1, hr_every=1)["pop"]
    assert (res.n_hr, res.hits) == (4, 2)


def test_only_every_nth_high_rating_is_tested():
    events = [(1, 10, 4.0, 0), (2, 11, 2.0, 1), (3, 10, 5.0, 2), (4, 10, 4.5, 3)]
    res = prequential({"pop": Popularity()}, events, k=1, hr_every=2)["pop"]
    # high ratings: events 1, 3, 4 -> the 2nd of them (event 3) is tested: 10 is top -> hit
    assert (res.n_hr, res.hits) == (1, 1)


def test_errors_are_from_predictions_before_learning():
    events = [(1, 10, 4.0, 0), (2, 10, 2.0, 1)]
    res = prequential({"pop": Popularity(shrinkage=0.0)}, events)["pop"]
    # event 1: nothing known -> predicts 0 (no mean yet), error 4; event 2: mean 4 -> error 2
    assert res.mae == pytest.approx(3.0)
    assert res.rmse == pytest.approx(math.sqrt((16 + 4) / 2))
    assert res.n_events == 2 and res.events_per_s > 0


def test_empty_stream():
    res = prequential({"mf": RiverMF()}, [])["mf"]
    assert math.isnan(res.rmse) and math.isnan(res.hit_rate)
    assert isinstance(res, StreamResult)


def test_read_ratings_sorted_and_limited(tmp_path):
    (tmp_path / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,5,4.0,30\n2,6,3.5,10\n1,7,5.0,20\n"
    )
    (tmp_path / "movies.csv").write_text(
        "movieId,title,genres\n5,A (2000),Drama\n6,B (2001),Comedy\n7,C (2002),Drama\n"
    )
    assert read_ratings(tmp_path) == [(2, 6, 3.5, 10.0), (1, 7, 5.0, 20.0), (1, 5, 4.0, 30.0)]
    assert len(read_ratings(tmp_path, limit=2)) == 2


def test_default_models_run_together(tmp_path):
    (tmp_path / "empty.yaml").write_text("")  # no sections: the classes' defaults
    models = default_models(tmp_path / "empty.yaml")
    events = [(u, m, 4.0, t) for t, (u, m) in enumerate([(1, 1), (2, 1), (2, 2), (3, 2)])]
    results = prequential(models, events, hr_every=1)
    assert set(results) == set(models) and all(r.n_events == 4 for r in results.values())
