"""Your own catalogue: add a movie (``POST /movies``) or replace one (``PUT /movies/{id}``).

Both need the API key. A movie added here is recommendable at once: it goes to the top of
the popular lists (what new users are served) for ``REELSTREAM_NEW_MOVIE_DAYS``
(:mod:`reelstream.new_movies`), and the online model learns it from its first rating.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.deps import ApiKeyDep, CacheDep, CatalogDep, SettingsDep, StoreDep
from api.bodies import Message, MoviePublic
from reelstream.catalog import to_movie_info
from reelstream.new_movies import mark_new
from reelstream.store import Movie

router = APIRouter(prefix="/movies", tags=["movies"], dependencies=[ApiKeyDep])

MovieId = Annotated[int, Path(gt=0, lt=2**31)]
Genre = Annotated[str, StringConstraints(min_length=1, max_length=50)]
_RESPONSES = {401: {"model": Message, "description": "Missing or invalid API key"},
              503: {"model": Message, "description": "PostgreSQL unreachable"}}


class MovieFields(BaseModel):
    """What a catalogue entry holds (the title without the year)."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    year: int | None = Field(None, ge=1870, le=2100)
    genres: list[Genre] = Field(default_factory=list, max_length=20)


class NewMovie(MovieFields):
    movie_id: int = Field(gt=0, lt=2**31, description="Your catalogue's id for the movie.")


def _text(value: str) -> str:
    """What PostgreSQL's text can hold: lone surrogates and NUL become U+FFFD; outer blanks go
    (a title of blanks only is kept as given)."""
    cleaned = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    return cleaned.strip() or cleaned


def _save(store, cache, catalog, settings, movie_id: int, fields: MovieFields,  # noqa: ANN001
          new: bool) -> MoviePublic:
    genres = tuple(dict.fromkeys(g for g in (_text(g).strip() for g in fields.genres) if g))
    movie = Movie(movie_id, _text(fields.title), genres, fields.year)
    store.upsert_movies([movie])
    catalog.put([to_movie_info(movie)])  # this process serves the new title at once
    if new:
        mark_new(cache.client, settings.redis_prefix, movie_id)
    return MoviePublic(movie_id=movie_id, title=movie.title, genres=list(movie.genres),
                       year=movie.year)


# The created movie is read back by the id the answer gives (the body's may be 7.0: an integer
# to JSON Schema, not to the ids query).
_CREATED_LINKS = {"links": {
    "GetMovie": {"operationId": "read_movie_movies__movie_id__get",
                 "parameters": {"movie_id": "$response.body#/movie_id"}},
    "SearchMovie": {"operationId": "search_movies_get",
                    "parameters": {"ids": "$response.body#/movie_id"}},
}}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MoviePublic,
             responses=_RESPONSES | {409: {"model": Message, "description": "The id is taken"},
                                     201: _CREATED_LINKS})
def add_movie(body: NewMovie, store: StoreDep, cache: CacheDep, catalog: CatalogDep,
              settings: SettingsDep) -> MoviePublic:
    """Add a movie to the catalogue; it is shown to new users at once (popular lists)."""
    if store.get_movie(body.movie_id) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"movie {body.movie_id} exists; PUT /movies/{body.movie_id} changes it")
    return _save(store, cache, catalog, settings, body.movie_id, body, new=True)


@router.put("/{movie_id:int}", response_model=MoviePublic, responses=_RESPONSES | {
    405: {"model": Message, "description": "Not a movie id (digits only)"}})
def put_movie(movie_id: MovieId, body: MovieFields, store: StoreDep, cache: CacheDep,
              catalog: CatalogDep, settings: SettingsDep) -> MoviePublic:
    """Create or replace a movie's title, year and genres."""
    new = store.get_movie(movie_id) is None
    return _save(store, cache, catalog, settings, movie_id, body, new=new)
