"""Movies: title search with a genre filter, a movie's page with its similar movies, rate it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.common import ApiError, attempt, genres, get_client, movie_label, page_header
from ui.logic import RATING_STEPS, stars

client = get_client()
page_header("Movies")

c1, c2 = st.columns([3, 1])
query = c1.text_input("Title contains", key="movie_query", placeholder="e.g. star wars")
genre = c2.selectbox("Genre", ["Any genre", *(attempt("load the genres", lambda: genres(client)) or [])],
                     key="movie_genre")
found = attempt("search the catalogue", lambda: client.search_movies(
    q=query or None, genre=None if genre == "Any genre" else genre, limit=50))
if found is None:
    st.stop()
st.caption(f"{found['total']:,} movies match" + (" (first 50 shown)" if found["total"] > 50 else ""))
results = {int(m["movie_id"]): m for m in found["data"]}
if not results:
    st.info("No movie matches.")
    st.stop()
st.dataframe(pd.DataFrame([{"title": m["title"], "year": m.get("year"), "genres": ", ".join(m["genres"])}
                           for m in results.values()]), hide_index=True, width="stretch",
             height=min(38 + 35 * len(results), 300))

movie_id = st.selectbox("Open a movie", list(results), key="movie_open",
                        format_func=lambda m: movie_label(results[m], m))
movie = results[int(movie_id)]
st.header(movie_label(movie, movie_id))
st.caption(" · ".join(movie["genres"]) or "no genres listed")
info, similar_col = st.columns([1, 2], gap="large")
with info:
    figures = attempt("load the movie's ratings", lambda: client.movie_stats(movie_id))
    if figures:
        a, b = st.columns(2)
        a.metric("Ratings", f"{figures['ratings_count']:,}")
        b.metric("Average", "—" if figures["average_rating"] is None else f"{figures['average_rating']:.2f} ★")
    st.markdown("**Rate it**")
    user_id = st.number_input("as user", min_value=1, max_value=2**31 - 1, step=1, key="movie_user",
                              value=int(st.session_state.get("existing_user_id", 1)))
    rating = st.select_slider("Stars", RATING_STEPS, value=4.0, format_func=stars, key="movie_stars")
    if st.button("Rate", type="primary", key="movie_rate"):
        try:
            refresh = client.rate_and_wait(int(user_id), int(movie_id), float(rating))
        except ApiError as exc:
            st.error(f"Could not rate: {exc}", icon=":material/warning:")
        else:
            if refresh.recommendations is not None:
                st.success(f"Rated {stars(rating)}; user {user_id}'s list refreshed in "
                           f"{refresh.elapsed_ms:.0f} ms (see For you).", icon=":material/bolt:")
            else:
                st.warning("Rating accepted, but the list was not refreshed in time: is the "
                           "worker running? See Live stream.", icon=":material/hourglass_top:")
with similar_col:
    st.markdown("**Similar movies**")
    similar = attempt("load similar movies", lambda: client.similar(movie_id, 10))
    if similar and similar["items"]:
        st.dataframe(pd.DataFrame([{"title": i.get("title"), "genres": ", ".join(i.get("genres") or []),
                                    "similarity": round(float(i["score"]), 3)} for i in similar["items"]]),
                     hide_index=True, width="stretch")
    elif similar is not None:
        st.info("No similar movies computed yet (the worker computes them once a movie is rated).")
