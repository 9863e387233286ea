"""Movies: catalogue entries (PostgreSQL) and similar movies (Redis)."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Response

from api.deps import CatalogDep, ReaderDep, StoreDep
from api.models import Message, MoviePublic, SimilarMovies

router = APIRouter(prefix="/movies", tags=["movies"])

MovieId = Annotated[int, Path(gt=0, lt=2**31)]
_NOT_FOUND = {404: {"model": Message, "description": "Unknown movie"}}


@router.get("/{movie_id}", response_model=MoviePublic, responses=_NOT_FOUND)
def read_movie(movie_id: MovieId, store: StoreDep) -> MoviePublic:
    movie = store.get_movie(movie_id)
    if movie is None:
        raise HTTPException(status_code=404, detail=f"Movie {movie_id} not found")
    return MoviePublic(
        movie_id=movie.movie_id, title=movie.title, genres=list(movie.genres), year=movie.year
    )


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
