"""An in-memory stand-in for :class:`ui.client.ReelstreamClient` for page tests: the same
methods, canned answers, every call recorded; ``fail_with`` makes every call raise."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from ui.client import ApiError, Refresh

MOVIES = {
    1: {"movie_id": 1, "title": "Toy Story", "genres": ["Animation", "Comedy"], "year": 1995},
    2: {"movie_id": 2, "title": "Jumanji", "genres": ["Adventure"], "year": 1995},
    3: {"movie_id": 3, "title": "Heat", "genres": ["Action", "Crime"], "year": 1995},
    4: {"movie_id": 4, "title": "Alien", "genres": ["Horror", "Sci-Fi"], "year": 1979},
    5: {"movie_id": 5, "title": "Fargo", "genres": ["Comedy", "Crime"], "year": 1996},
}


def _items(ids: list[int], because: dict[int, list[dict[str, Any]]] | None = None
           ) -> list[dict[str, Any]]:
    return [
        {"movie_id": m, "title": MOVIES[m]["title"], "genres": MOVIES[m]["genres"], "score": 5.0 - i / 10,
         "because": (because or {}).get(m, [])}
        for i, m in enumerate(ids)
    ]


def stats(now: datetime | None = None, *, stalled: bool = False, learned: int = 100,
          lag: int = 0) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    bounds = [0.001, 0.002, 0.005]
    return {
        "generated_at": now.isoformat(),
        "stale_after_s": 15.0,
        "workers": [{
            "worker_id": "w1", "state": "ok", "reason": "no heartbeat for 60 s" if stalled else None,
            "stalled": stalled, "heartbeat_at": now.isoformat(), "heartbeat_age_s": 60.0 if stalled else 0.5,
            "model_version": "champion-v1+online", "lag": {"0": lag}, "total_lag": lag,
            "newest_learned_event_at": now.isoformat(), "newest_learned_age_s": 0.2,
            "events_stored": learned, "events_learned": learned, "duplicates": 0, "dead_letters": 1,
        }],
        "recent_dead_letters": [{"at": now.isoformat(), "error": "rating 7 out of range", "stage": "parse",
                                 "topic": "ratings", "partition": 0, "offset": 5, "preview": '{"rating":7}'}],
        "api": {"events_accepted": learned, "events_rejected": {"invalid": 1},
                "latency": {"GET /users/{user_id}/recommendations": {
                    "bounds_s": bounds, "counts": [learned, 0, 0, 0], "count": learned,
                    "p50_ms": 0.5, "p95_ms": 0.95}}},
    }


class FakeClient:
    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = base_url or f"fake://{uuid.uuid4().hex}"
        self.api_key = "k"
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.fail_with: str | None = None
        self.lists = {7: [1, 2, 3]}  # user -> recommended ids
        self.after_rating = [4, 1, 3]  # the list the "worker" writes after a rating
        self.ratings: dict[int, list[dict[str, Any]]] = {7: [
            {"event_id": str(uuid.uuid4()), "movie_id": 5, "rating": 4.5,
             "rated_at": "2024-01-01T00:00:00Z", "ingested_at": "2024-01-01T00:00:00Z"}]}
        self.stats_samples: list[dict[str, Any]] = []
        self.champion = "1"

    def _call(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if self.fail_with:
            raise ApiError(self.fail_with)

    def called(self, name: str) -> list[tuple[Any, ...]]:
        return [args for n, args in self.calls if n == name]

    def recommendations(self, user_id: int, n: int | None = None) -> dict[str, Any]:
        self._call("recommendations", user_id)
        ids = self.lists.get(user_id)
        return {
            "user_id": user_id, "source": "personal" if ids else "popular", "origin": "redis",
            "reason": None, "model_version": "champion-v1+online", "updated_at": "2024-01-01T00:00:00Z",
            "last_event_id": None, "last_event_at": None,
            "items": _items(ids or [5, 4], {3: [{"movie_id": 5, "share": 0.62}]} if ids else None),
        }

    def user_ratings(self, user_id: int, limit: int = 50) -> dict[str, Any]:
        self._call("user_ratings", user_id)
        data = self.ratings.get(user_id, [])
        return {"user_id": user_id, "count": len(data), "limit": limit, "offset": 0, "data": data}

    def search_movies(self, q: str | None = None, genre: str | None = None,
                      ids: list[int] | None = None, limit: int = 20, offset: int = 0) -> dict[str, Any]:
        self._call("search_movies", q, genre, ids)
        found = [m for m in MOVIES.values()
                 if (not q or q.lower() in m["title"].lower()) and (not genre or genre in m["genres"])
                 and (ids is None or m["movie_id"] in ids)]
        return {"total": len(found), "limit": limit, "offset": offset, "data": found[:limit]}

    def genres(self) -> list[str]:
        self._call("genres")
        return sorted({g for m in MOVIES.values() for g in m["genres"]})

    def movie(self, movie_id: int) -> dict[str, Any]:
        self._call("movie", movie_id)
        return MOVIES[movie_id]

    def movie_stats(self, movie_id: int) -> dict[str, Any]:
        self._call("movie_stats", movie_id)
        return {"movie_id": movie_id, "ratings_count": 42, "average_rating": 3.9,
                "last_rated_at": "2024-01-01T00:00:00Z"}

    def similar(self, movie_id: int, n: int = 10) -> dict[str, Any]:
        self._call("similar", movie_id)
        return {"movie_id": movie_id, "items": _items([m for m in (2, 3) if m != movie_id])}

    def popular(self, n: int = 10) -> dict[str, Any]:
        self._call("popular", n)
        return {"user_id": None, "source": "popular", "origin": "redis", "reason": None,
                "model_version": "pop", "updated_at": None, "last_event_id": None,
                "last_event_at": None, "items": _items([3, 1, 4, 5])}

    def all_time_popular(self, n: int = 10) -> dict[str, Any]:
        self._call("all_time_popular", n)
        return {"items": [{**{k: MOVIES[m][k] for k in ("movie_id", "title", "genres")},
                           "ratings_count": 300 - m} for m in (1, 2)]}

    def stream_stats(self) -> dict[str, Any]:
        self._call("stream_stats")
        return self.stats_samples.pop(0) if len(self.stats_samples) > 1 else (
            self.stats_samples[0] if self.stats_samples else stats())

    def models(self) -> dict[str, Any]:
        self._call("models")
        versions = [
            {"version": v, "aliases": ["champion"] if v == self.champion else [],
             "created_at": "2024-01-0%sT00:00:00Z" % v, "data_interval_end": f"2024-01-0{v}",
             "data_start": "2023-01-01", "data_end": f"2024-01-0{v}", "n_ratings": 1000.0,
             "run_id": "r", "metrics": {"ndcg_at_10": 0.1 * int(v), "recall_at_10": 0.05, "rmse": 0.9}}
            for v in ("2", "1")
        ]
        return {"name": "reelstream-mf", "champion": self.champion, "versions": versions}

    def models_live(self) -> dict[str, Any]:
        self._call("models_live")
        figures = {"events": 12000, "window": 10000, "rmse": 0.91, "mae": 0.70, "workers": 1,
                   "drifts": 0}
        return {"at": datetime.now(UTC).isoformat(), "workers": [], "roles": {
            "champion": {**figures, "version": f"champion-v{self.champion}+online",
                         "hr@10": 0.14, "ndcg@10": 0.07},
            "challenger": {**figures, "version": "challenger-v2+online",
                           "hr@10": 0.15, "ndcg@10": 0.08},
        }}

    def version_recommendations(self, version: str, user_id: int, n: int = 10) -> dict[str, Any]:
        self._call("version_recommendations", version, user_id)
        return {"version": version, "user_id": user_id, "known_user": True,
                "items": _items([1, 2] if version == "1" else [3, 4])}

    def post_rating(self, user_id: int, movie_id: int, rating: float) -> str:
        self._call("post_rating", user_id, movie_id, rating)
        return str(uuid.uuid4())

    def rate_and_wait(self, user_id: int, movie_id: int, rating: float, **_: Any) -> Refresh:
        self._call("rate_and_wait", user_id, movie_id, rating)
        self.lists[user_id] = list(self.after_rating)
        self.ratings.setdefault(user_id, []).insert(0, {
            "event_id": str(uuid.uuid4()), "movie_id": movie_id, "rating": rating,
            "rated_at": "2024-01-02T00:00:00Z", "ingested_at": "2024-01-02T00:00:00Z"})
        return Refresh("e", self.recommendations(user_id), 42.0, 3)

    def promote(self, version: str, key: str) -> dict[str, Any]:
        self._call("promote", version, key)
        self.champion = version
        return {"champion": version, "workers_notified": 1}

    def rollback(self, key: str) -> dict[str, Any]:
        self._call("rollback", key)
        self.champion = "1"
        return {"champion": "1", "workers_notified": 1}
