"""What every page shares: the API client, cached catalogue reads, error display."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import streamlit as st

from ui.client import ApiError, ReelstreamClient

__all__ = ["ApiError", "get_client", "page_header", "show_error", "genres", "movies_by_id", "movie_label"]

T = TypeVar("T")
CATALOGUE_TTL_S = 600  # titles and genres change rarely; recommendations are never cached


@st.cache_resource
def _default_client() -> ReelstreamClient:
    from reelstream.settings import Settings

    settings = Settings()
    return ReelstreamClient(settings.ui_api_base_url, settings.ui_client_key)


def get_client() -> Any:
    """The session's client (tests put a fake one in ``st.session_state["client"]``)."""
    return st.session_state.get("client") or _default_client()


def page_header(title: str) -> None:
    """Wide layout (the lists have many columns) and the page's title."""
    st.set_page_config(page_title=f"{title} · reelstream", layout="wide")
    st.title(title)


def show_error(exc: ApiError, doing: str) -> None:
    st.error(f"Could not {doing}: {exc}", icon=":material/warning:")


def attempt(doing: str, call: Callable[[], T]) -> T | None:
    """``call()``, or None after showing what failed."""
    try:
        return call()
    except ApiError as exc:
        show_error(exc, doing)
        return None


@st.cache_data(ttl=CATALOGUE_TTL_S, show_spinner=False)
def _genres(_client: Any, cache_key: str) -> list[str]:
    return _client.genres()


def genres(client: Any) -> list[str]:
    return _genres(client, client.base_url)


@st.cache_resource(ttl=CATALOGUE_TTL_S, show_spinner=False)
def _catalogue(cache_key: str) -> dict[int, dict[str, Any]]:
    """Movies seen so far, shared by every session (and dropped with the TTL): a refreshed
    list then costs a request only for the movies that are new to it."""
    return {}


def movies_by_id(client: Any, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Catalogue entries (title, year, genres) of these movies."""
    known = _catalogue(client.base_url)
    wanted = sorted({int(i) for i in ids})
    missing = [i for i in wanted if i not in known][:500]
    if missing:
        found = client.search_movies(ids=missing, limit=len(missing))["data"]
        known.update({int(m["movie_id"]): m for m in found})
    return {i: known[i] for i in wanted if i in known}


def movie_label(movie: dict[str, Any] | None, movie_id: int) -> str:
    if not movie:
        return f"movie {movie_id}"
    year = f" ({movie['year']})" if movie.get("year") else ""
    return f"{movie.get('title') or f'movie {movie_id}'}{year}"
