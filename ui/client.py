"""The web app's only way to reelstream: the public HTTP API, over httpx.

Every failure becomes :class:`ApiError` with a sentence a person can read (the pages show it
instead of a traceback), so the app sees exactly what any other API client sees.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

__all__ = ["ApiError", "Refresh", "ReelstreamClient"]


class ApiError(Exception):
    """The API could not be reached, or refused the request (``status`` when it answered)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Refresh:
    """A posted rating and what the API served once the list included it."""

    event_id: str
    recommendations: dict[str, Any] | None  # None: not refreshed within the timeout
    elapsed_ms: float  # rating posted -> refreshed list read
    polls: int


class ReelstreamClient:
    def __init__(self, base_url: str, api_key: str | None = None, *, timeout_s: float = 5.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self._http.close()

    # -- plumbing ---------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> Any:
        """``key``: the key for this request (promote/roll back); else the app's own key,
        sent with every request (ratings need it, and reads do where the API asks for it)."""
        key = key or self.api_key
        headers = {"X-API-Key": key} if key else None
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException as exc:
            raise ApiError(f"the reelstream API at {self.base_url} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise ApiError(f"the reelstream API at {self.base_url} is not reachable ({exc})") from exc
        if response.status_code >= 400:
            raise ApiError(_explain(response), response.status_code)
        return response.json()

    def _get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params={k: v for k, v in params.items() if v is not None})

    # -- reads ------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        try:
            response = self._http.get("/health")
        except httpx.HTTPError as exc:
            raise ApiError(f"the reelstream API at {self.base_url} is not reachable ({exc})") from exc
        return response.json()  # 503 still carries which services are down

    def recommendations(self, user_id: int, n: int | None = None) -> dict[str, Any]:
        return self._get(f"/users/{user_id}/recommendations", n=n)

    def user_ratings(self, user_id: int, limit: int = 50) -> dict[str, Any]:
        return self._get(f"/users/{user_id}/ratings", limit=limit)

    def search_movies(self, q: str | None = None, genre: str | None = None,
                      ids: list[int] | None = None, limit: int = 20, offset: int = 0) -> dict[str, Any]:
        joined = ",".join(str(i) for i in ids) if ids else None
        return self._get("/movies", q=q or None, genre=genre or None, ids=joined, limit=limit,
                         offset=offset)

    def genres(self) -> list[str]:
        return self._get("/movies/genres")

    def movie(self, movie_id: int) -> dict[str, Any]:
        return self._get(f"/movies/{movie_id}")

    def movie_stats(self, movie_id: int) -> dict[str, Any]:
        return self._get(f"/movies/{movie_id}/stats")

    def similar(self, movie_id: int, n: int = 10) -> dict[str, Any]:
        return self._get(f"/movies/{movie_id}/similar", n=n)

    def popular(self, n: int = 10) -> dict[str, Any]:
        return self._get("/popular", n=n)

    def all_time_popular(self, n: int = 10) -> dict[str, Any]:
        return self._get("/popular/all-time", n=n)

    def stream_stats(self) -> dict[str, Any]:
        return self._get("/stream/stats")

    def models(self) -> dict[str, Any]:
        return self._get("/models")

    def models_live(self) -> dict[str, Any]:
        return self._get("/models/live")

    def version_recommendations(self, version: str, user_id: int, n: int = 10) -> dict[str, Any]:
        return self._get(f"/models/{version}/users/{user_id}/recommendations", n=n)

    # -- writes -----------------------------------------------------------------------------
    def post_rating(self, user_id: int, movie_id: int, rating: float) -> str:
        """Publish one rating; returns its event id (202 = the broker acknowledged it)."""
        event = {
            "event_id": str(uuid.uuid4()),
            "user_id": user_id,
            "movie_id": movie_id,
            "rating": rating,
            "timestamp": datetime.now(UTC).isoformat(),
        }
        return str(self._request("POST", "/ratings", json=event)["event_id"])

    def rate_and_wait(self, user_id: int, movie_id: int, rating: float, *,
                      timeout_s: float = 10.0, poll_s: float = 0.01) -> Refresh:
        """Post a rating, then read the user's list until it includes that event."""
        start = time.perf_counter()
        event_id = self.post_rating(user_id, movie_id, rating)
        polls = 0
        while True:
            body = self.recommendations(user_id)
            polls += 1
            elapsed = time.perf_counter() - start
            if body.get("last_event_id") == event_id:
                return Refresh(event_id, body, elapsed * 1000, polls)
            if elapsed > timeout_s:
                return Refresh(event_id, None, elapsed * 1000, polls)
            time.sleep(poll_s)

    def promote(self, version: str, key: str) -> dict[str, Any]:
        """Needs the key typed by the person (never the app's own)."""
        return self._request("POST", f"/models/{version}/promote", key=_typed(key))

    def rollback(self, key: str) -> dict[str, Any]:
        """Needs the key typed by the person (never the app's own)."""
        return self._request("POST", "/models/rollback", key=_typed(key))


def _typed(key: str | None) -> str:
    if not key or not key.strip():
        raise ApiError("type the API key: changing the champion needs it", 401)
    return key.strip()


def _explain(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = response.text[:200]
    if isinstance(detail, dict):
        detail = detail.get("reason") or detail
    if isinstance(detail, list):  # FastAPI validation errors
        detail = "; ".join(str(d.get("msg", d)) for d in detail)
    if response.status_code == 401:
        return "the API refused the key (set REELSTREAM_UI_API_KEY to the API's key)"
    if response.status_code == 503:
        return f"a service behind the API is unavailable: {detail}"
    return f"{detail} (HTTP {response.status_code})"
