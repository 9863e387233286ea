import pandas as pd
import pytest

T0 = 964_982_000  # July 2000, inside the accepted event-time window

from reelstream.replay import InvalidRatings, Pacer, check_ratings, events_in_time_order


def _ratings(**overrides):
    frame = pd.DataFrame(
        {"user_id": [2, 1, 1], "movie_id": [10, 20, 30], "rating": [4.0, 3.5, 5.0],
         "timestamp": [T0 + 300, T0 + 100, T0 + 200], "line": [2, 3, 4]}
    )
    for column, values in overrides.items():
        frame[column] = values
    return frame


def test_events_come_out_oldest_first():
    events = list(events_in_time_order(_ratings()))
    assert [e.timestamp.timestamp() for e in events] == [T0 + 100, T0 + 200, T0 + 300]
    assert [(e.user_id, e.movie_id, e.rating) for e in events] == [(1, 20, 3.5), (1, 30, 5.0), (2, 10, 4.0)]


def test_event_ids_are_stable_across_replays_and_distinct():
    first = [e.event_id for e in events_in_time_order(_ratings())]
    again = [e.event_id for e in events_in_time_order(_ratings())]
    assert first == again
    assert len(set(first)) == 3


def test_limit_takes_the_oldest():
    assert [e.movie_id for e in events_in_time_order(_ratings(), limit=2)] == [20, 30]


def test_ties_keep_file_order():
    events = list(events_in_time_order(_ratings(timestamp=[T0, T0, T0])))
    assert [e.movie_id for e in events] == [10, 20, 30]


@pytest.mark.parametrize(
    ("column", "values"),
    [("rating", [4.0, 7.0, 5.0]), ("rating", [4.0, 3.3, 5.0]), ("user_id", [2, 0, 1]), ("movie_id", [10, -1, 30]),
     ("user_id", [2, 2**31, 1]), ("timestamp", [T0, 0, T0]), ("timestamp", [T0, 253402300799, T0])],
)
def test_invalid_row_is_named_with_its_line(column, values):
    with pytest.raises(InvalidRatings, match=r"ratings.csv, line 3: .*nothing was published"):
        check_ratings(_ratings(**{column: values}), "ratings.csv")


def test_valid_table_passes_and_missing_column_is_named():
    check_ratings(_ratings())
    with pytest.raises(InvalidRatings, match="missing columns"):
        check_ratings(_ratings().drop(columns=["rating"]))


def test_pacer_compresses_event_time(monkeypatch):
    slept = []
    monkeypatch.setattr("reelstream.replay.time.sleep", slept.append)
    clock = iter([0.0, 0.0, 0.0])
    monkeypatch.setattr("reelstream.replay.time.monotonic", lambda: next(clock))
    pacer = Pacer(speed=100.0)
    from datetime import UTC, datetime

    pacer.wait_until(datetime.fromtimestamp(1000, UTC))
    pacer.wait_until(datetime.fromtimestamp(1500, UTC))  # 500 s of event time at 100x
    assert slept == [pytest.approx(5.0)]
    assert Pacer(speed=None).wait_until(datetime.fromtimestamp(0, UTC)) == 0.0
