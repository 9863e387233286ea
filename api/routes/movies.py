"""Movies: catalogue entries (PostgreSQL) and similar movies (Redis)."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Response

from api.deps import CatalogDep, ReaderDep, StoreDep
from api.bodies import Message, MoviePublic, MovieSearch, MovieStats, SimilarMovies
from reelstream.serving.browse import list_genres, movie_stats, search_movies

router = APIRouter(prefix="/movies", tags=["movies"])

MovieId = Annotated[int, Path(gt=0, lt=2**31)]
_NOT_FOUND = {404: {"model": Message, "description": "Unknown movie"}}
_STORE_DOWN = {503: {"model": Message, "description": "PostgreSQL unreachable"}}
MAX_IDS = 500
# A positive int32 (1..2147483647) as a regular expression, so the schema says exactly which
# ids are accepted.
_ID = (
    r"(?:[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}"
    r"|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}"
    r"|21474836[0-3][0-9]|214748364[0-7])"
)
IDS_PATTERN = rf"^{_ID}(?:,{_ID}){{0,{MAX_IDS - 1}}}$"


def _ids(raw: str | None) -> list[int] | None:
    """The ids of a query that matched :data:`IDS_PATTERN`."""
    return None if raw is None else [int(part) for part in raw.split(",")]


#: Text PostgreSQL can hold: a NUL in a search is a 422, not a failed query.
NO_NUL = r"^[^\x00]*$"


@router.get("", response_model=MovieSearch, responses=_STORE_DOWN)
def search(
    store: StoreDep,
    q: Annotated[
        str | None, Query(max_length=200, pattern=NO_NUL, description="Part of the title.")
    ] = None,
    genre: Annotated[
        str | None, Query(max_length=50, pattern=NO_NUL, description="One genre, exact.")
    ] = None,
    ids: Annotated[
        str | None,
        Query(
            pattern=IDS_PATTERN,
            description=f"Comma-separated movie ids (1..2147483647), at most {MAX_IDS}.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_IDS)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> MovieSearch:
    """Catalogue search: titles containing ``q`` (those starting with it first), optionally
    of one ``genre`` or among ``ids``."""
    total, rows = search_movies(
        store, q=q, genre=genre, ids=_ids(ids), limit=limit, offset=offset
    )
    return MovieSearch(
        total=total,
        limit=limit,
        offset=offset,
        data=[MoviePublic(movie_id=r.movie_id, title=r.title, genres=r.genres, year=r.year) for r in rows],
    )


@router.get("/genres", response_model=list[str], responses=_STORE_DOWN)
def genres(store: StoreDep) -> list[str]:
    """Every genre in the catalogue, alphabetical."""
    return list_genres(store)


@router.get("/{movie_id}", response_model=MoviePublic, responses=_NOT_FOUND)
def read_movie(movie_id: MovieId, store: StoreDep) -> MoviePublic:
    movie = store.get_movie(movie_id)
    if movie is None:
        raise HTTPException(status_code=404, detail=f"Movie {movie_id} not found")
    return MoviePublic(
        movie_id=movie.movie_id, title=movie.title, genres=list(movie.genres), year=movie.year
    )


@router.get("/{movie_id}/stats", response_model=MovieStats, responses=_NOT_FOUND | _STORE_DOWN)
def read_movie_stats(movie_id: MovieId, store: StoreDep) -> MovieStats:
    """How many ratings the movie has, their mean and the newest rating's time."""
    if store.get_movie(movie_id) is None:
        raise HTTPException(status_code=404, detail=f"Movie {movie_id} not found")
    return MovieStats.model_validate(movie_stats(store, movie_id))


@router.get("/{movie_id}/similar", response_model=SimilarMovies, responses=_NOT_FOUND)
async def read_similar(
    movie_id: MovieId,
    catalog: CatalogDep,
    reader: ReaderDep,
    n: Annotated[int, Query(ge=1, le=500)] = 10,
) -> Response:
    """Movies similar to this one, as last computed by the worker (may be empty)."""
    if not (await anyio.to_thread.run_sync(catalog.lookup, [movie_id]))[movie_id].known:
        raise HTTPException(status_code=404, detail=f"Movie {movie_id} not found")
    items = await reader.similar(movie_id, n)
    # The items come pre-encoded (SimilarMovies documents the shape; the tests check it).
    body = orjson.dumps({"movie_id": movie_id, "items": items})
    return Response(body, media_type="application/json")
