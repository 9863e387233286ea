"""Default pages rendered where lists are written, so the API can serve them as stored.

The worker computes a user's list once per rating; the API reads it many times. Rendering
the default page (``GET /users/{id}/recommendations``, ``n`` = ``DEFAULT_N``) when the list is
written takes the parse and the join off every read: the API's fast lane then answers with
the stored bytes. Rendering goes through the same code as the API's own path
(:func:`~reelstream.serving.recommendations.join_items`,
:meth:`~reelstream.serving.recommendations.ServedRecommendations.personal`), and the tests
compare the two byte for byte.
"""

from __future__ import annotations

import orjson

from reelstream.cache import ranked_list
from reelstream.serving.catalog import MovieCatalog
from reelstream.serving.recommendations import DEFAULT_N, ServedRecommendations, join_items

__all__ = ["PageRenderer"]


class PageRenderer:
    """``render(value)``: the default page for a stored list value, or None when a movie in
    it is not in the catalogue yet (the writer then drops the page; the API renders that list
    itself and fetches the title).

    It never queries PostgreSQL: the writer keeps the catalogue filled (:meth:`prefetch`)
    where a database round trip is already being paid.
    """

    def __init__(self, catalog: MovieCatalog, n: int = DEFAULT_N) -> None:
        self.catalog = catalog
        self.n = n

    def prefetch(self, movie_ids: set[int]) -> None:
        """Load the movies the catalogue does not know yet (blocking, one query)."""
        _, missing = self.catalog.cached(movie_ids)
        if missing:
            self.catalog.fetch(missing)

    def render(self, value: bytes) -> bytes | None:
        data = orjson.loads(value)
        ids, scores = ranked_list(data, self.n)
        heads = self.catalog.known_heads(ids) if ids else None
        if heads is None:
            return None
        items = join_items(heads, scores)
        return ServedRecommendations.personal(int(data["user_id"]), data, items).to_json()
