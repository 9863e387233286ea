"""The movie catalogue the API serves titles from: :mod:`reelstream.catalog`, shared with the
worker, which renders the pages it stores from the same catalogue."""

from reelstream.catalog import MovieCatalog, MovieInfo, item_head, to_movie_info

__all__ = ["MovieCatalog", "MovieInfo", "item_head", "to_movie_info"]
