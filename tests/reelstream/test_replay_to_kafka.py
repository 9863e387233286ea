"""The MovieLens replay (reelstream.replay.replay) against the embedded broker, and its failure paths."""

from __future__ import annotations

import pandas as pd
import pytest
from kafka import TopicPartition
from typer.testing import CliRunner

from reelstream.replay import ReplayFailed, replay
from reelstream.processes import free_port
from reelstream.cli import app
from reelstream.kafka import make_consumer
from reelstream.schemas import RatingEvent


def small_ratings(n: int = 200) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [1 + i % 7 for i in range(n)],
            "movie_id": [1 + i for i in range(n)],
            "rating": [0.5 + (i % 10) / 2 for i in range(n)],
            "timestamp": [1_000_000_000 - i for i in range(n)],  # newest first in the file (2001)
        }
    )


def test_replay_publishes_every_event_in_time_order_keyed_by_user(isolated):
    report = replay(isolated, small_ratings())

    assert (report.sent, report.acknowledged) == (200, 200)
    assert sum(report.end_offsets.values()) == 200
    consumer = make_consumer(isolated, None)
    tps = [TopicPartition(isolated.ratings_topic, p) for p in report.end_offsets]
    consumer.assign(tps)
    consumer.seek_to_beginning()
    records = []
    while len(records) < 200:
        batch = consumer.poll(timeout_ms=5000)
        assert batch, f"only {len(records)} of 200 records came back"
        records += [r for rs in batch.values() for r in rs]
    consumer.close()
    by_partition: dict[int, list[RatingEvent]] = {}
    for record in records:
        event = RatingEvent.from_bytes(record.value)
        assert record.key == str(event.user_id).encode()
        by_partition.setdefault(record.partition, []).append(event)
    for events in by_partition.values():  # within a partition, oldest first
        times = [e.timestamp for e in events]
        assert times == sorted(times)
    assert len({e.user_id for events in by_partition.values() for e in events}) == 7


def test_unreachable_broker_is_a_clear_failure(isolated):
    port = free_port()  # nothing listens there
    settings = isolated.model_copy(
        update={"kafka_bootstrap_servers": f"127.0.0.1:{port}", "kafka_request_timeout_ms": 1500}
    )
    with pytest.raises(ReplayFailed, match=f"127.0.0.1:{port} is unreachable.*nothing was published"):
        replay(settings, small_ratings(10))


def test_cli_refuses_a_malformed_file_naming_file_and_line(tmp_path):
    (tmp_path / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,10,4.0,964982703\n1,11,four,964982704\n"
    )
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n10,A (1995),Drama\n11,B (1996),Comedy\n")

    result = CliRunner().invoke(app, ["replay", "--dataset", str(tmp_path)])

    assert result.exit_code == 2
    assert "ratings.csv" in result.output and "line 3" in result.output
