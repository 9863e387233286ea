"""``reelstream import``: your own files, any column names, CSV or Parquet."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from reelstream.cli import app
from reelstream.kafka import ensure_topics
from reelstream.settings import get_settings
from reelstream.store import EventStore
from reelstream.table_import import (MOVIE_FIELDS, RATING_FIELDS, ImportError_, movies_table,
                                     parse_mapping, ratings_table)
from tests.api.api_testing import random_id


def test_mapping_and_clear_errors():
    frame = pd.DataFrame({"who": [1], "sku": [2], "stars": [4.5], "when": ["2024-01-02T03:04:05Z"]})
    mapping = parse_mapping(["user_id=who,movie_id=sku", "rating=stars", "timestamp=when"],
                            RATING_FIELDS)
    table = ratings_table(frame, mapping, "iso")
    assert table.iloc[0]["user_id"] == 1 and str(table.iloc[0]["timestamp"]).startswith("2024-01-02")
    with pytest.raises(ImportError_, match=r"no column for rating \(column 'rating'\)"):
        ratings_table(frame, {"user_id": "who", "movie_id": "sku", "timestamp": "when"})
    with pytest.raises(ImportError_, match="not one of"):
        parse_mapping(["score=stars"], RATING_FIELDS)
    movies = movies_table(pd.DataFrame({"id": [5], "name": ["Heat"], "tags": ["Crime|Drama"]}),
                          parse_mapping(["movie_id=id,title=name,genres=tags"], MOVIE_FIELDS))
    assert movies.iloc[0]["genres"] == ["Crime", "Drama"] and pd.isna(movies.iloc[0]["year"])


@pytest.mark.integration
def test_import_movies_from_parquet_and_ratings_from_csv(isolated, tmp_path, monkeypatch):
    from reelstream.streaming.process import WorkerProcess
    from tests.stream_processor.worker_helpers import wait_for

    for key, value in isolated.to_env().items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    ensure_topics(isolated, {isolated.ratings_topic: 2, isolated.dlq_topic: 1})
    movie_ids = [random_id() for _ in range(3)]
    pd.DataFrame({"sku": movie_ids, "name": ["A", "B", "C"], "released": [1999, None, 2020],
                  "tags": ["Drama", "", "Sci-Fi|Drama"]}).to_parquet(tmp_path / "catalogue.parquet")
    user = random_id()
    pd.DataFrame({"customer": [user, user], "sku": movie_ids[:2], "stars": [4.0, 2.5],
                  "at": ["2024-03-01T10:00:00Z", "2024-03-01T11:00:00+01:00"]}).to_csv(
        tmp_path / "ratings.csv", sep=";", index=False)
    runner = CliRunner()
    try:
        done = runner.invoke(app, ["import", "movies", str(tmp_path / "catalogue.parquet"),
                                   "--map", "movie_id=sku,title=name,year=released,genres=tags"])
        assert done.exit_code == 0, done.output
        with EventStore(isolated.postgres_dsn) as store:
            stored = store.get_movies(movie_ids)
        assert stored[movie_ids[2]].genres == ("Sci-Fi", "Drama") and stored[movie_ids[2]].year == 2020
        assert stored[movie_ids[1]].year is None and stored[movie_ids[1]].genres == ()

        bad = runner.invoke(app, ["import", "ratings", str(tmp_path / "ratings.csv"),
                                  "--delimiter", ";", "--map", "user_id=customer"])
        assert bad.exit_code == 2 and "no column for movie_id" in bad.stderr
        with WorkerProcess(isolated, tmp_path / "worker.log") as worker:
            worker.wait_ready()
            done = runner.invoke(app, ["import", "ratings", str(tmp_path / "ratings.csv"),
                                       "--delimiter", ";", "--time-unit", "iso", "--map",
                                       "user_id=customer,movie_id=sku,rating=stars,timestamp=at"])
            assert done.exit_code == 0, done.output

            def stored_ratings():
                with EventStore(isolated.postgres_dsn) as store:
                    return store.user_ratings(user)

            wait_for(lambda: len(stored_ratings()) == 2, 60, "the imported ratings in PostgreSQL")
        rows = stored_ratings()
        assert sorted(r.rating for r in rows) == [2.5, 4.0]
        assert min(r.rated_at for r in rows).isoformat() == "2024-03-01T10:00:00+00:00"
    finally:
        get_settings.cache_clear()
