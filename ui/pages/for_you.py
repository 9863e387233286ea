"""For you: a user's recommendations, rate a movie, see the list the worker rewrote."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
import streamlit as st

from ui.common import (
    ApiError, attempt, genres, get_client, movie_label, movies_by_id, page_header, show_error,
)
from ui.logic import RATING_STEPS, change_label, list_changes, reason_for, stars, summarise_changes

client = get_client()
page_header("For you")

mode = st.radio("Who are you?", ["An existing user", "A new user"], horizontal=True, key="mode")


def _start_new_user(liked: list[int], chosen_genres: list[str]) -> None:
    user_id = random.randint(1_000_000_000, 2**31 - 2)  # far above any dataset's ids
    st.session_state["new_user_id"] = user_id
    st.session_state["new_user_genres"] = chosen_genres
    st.session_state.pop("last_refresh", None)
    try:
        for movie_id in liked[:-1]:
            client.post_rating(user_id, movie_id, 5.0)
        if liked:
            client.rate_and_wait(user_id, liked[-1], 5.0)
    except ApiError as exc:
        st.session_state["rate_error"] = str(exc)


if mode == "An existing user":
    user_id = int(st.number_input("User id", min_value=1, max_value=2**31 - 1, value=1, step=1,
                                  key="existing_user_id"))
    user_genres: list[str] = []
else:
    with st.form("new_user"):
        st.write("Tell us what you like: a few genres, or three movies you liked.")
        chosen = st.multiselect("Genres", attempt("load the genres", lambda: genres(client)) or [],
                                max_selections=5)
        popular = attempt("load popular movies", lambda: client.popular(50)) or {"items": []}
        options = {i["movie_id"]: i.get("title") or f"movie {i['movie_id']}" for i in popular["items"]}
        liked = st.multiselect("Three movies you liked", list(options), format_func=options.get,
                               max_selections=3)
        started = st.form_submit_button("Start as a new user")
    if started:
        _start_new_user(list(liked), list(chosen))
    if "new_user_id" not in st.session_state:
        st.info("Choose a few genres or movies, then start.")
        st.stop()
    user_id = int(st.session_state["new_user_id"])
    user_genres = list(st.session_state.get("new_user_genres", []))
    st.caption(f"You are user {user_id}.")


def _rate(user_id: int, before: list[int]) -> None:
    """Button callback: post the rating, wait for the refreshed list, remember what changed.
    The widgets' values are read here, so a change made together with the click counts."""
    movie_id = st.session_state.get("rate_movie")
    if isinstance(movie_id, str):  # the title of a movie the list no longer holds
        movie_id = st.session_state.get("rate_titles", {}).get(movie_id)
    rating = float(st.session_state["rate_stars"])
    st.session_state.pop("rate_error", None)
    if not isinstance(movie_id, int):
        st.session_state["rate_error"] = "choose a movie to rate"
        return
    try:
        refresh = client.rate_and_wait(user_id, movie_id, rating)
    except ApiError as exc:
        st.session_state["rate_error"] = str(exc)
        return
    st.session_state["last_refresh"] = {
        "user_id": user_id,
        "movie_id": movie_id,
        "rating": rating,
        "before": before,
        "elapsed_ms": refresh.elapsed_ms,
        "refreshed": refresh.recommendations is not None,
        "event_id": refresh.event_id,
    }
    if refresh.recommendations is not None:
        st.session_state.setdefault("refresh_times_ms", []).append(refresh.elapsed_ms)
        st.session_state["fresh_list"] = (user_id, refresh.recommendations)  # shown as read


fresh = st.session_state.pop("fresh_list", None)
def _tint(row: pd.Series) -> list[str]:
    change = str(row["change"])
    colour = CHANGE_COLOURS.get(change[:1]) or CHANGE_COLOURS.get(change)
    return [f"background-color: {colour}" if colour else ""] * len(row)


def _year(value: Any) -> str:
    return "" if value is None or pd.isna(value) else str(int(value))


CHANGE_COLOURS = {"new": "rgba(33, 195, 84, 0.18)", "▲": "rgba(33, 195, 84, 0.08)",
                  "▼": "rgba(255, 75, 75, 0.08)"}

try:
    recs = fresh[1] if fresh and fresh[0] == user_id else client.recommendations(user_id)
    history = client.user_ratings(user_id, limit=50)
except ApiError as exc:
    show_error(exc, f"load user {user_id}")
    st.stop()

items: list[dict[str, Any]] = recs.get("items", [])
ids = [int(i["movie_id"]) for i in items]
rated_ids = [int(r["movie_id"]) for r in history.get("data", [])]
catalogue = attempt("load movie titles", lambda: movies_by_id(client, ids + rated_ids)) or {}

rated_movies = {
    int(r["movie_id"]): {**(catalogue.get(r["movie_id"]) or {}), "rating": r["rating"]}
    for r in history.get("data", [])
}
liked = sorted(
    ({**(catalogue.get(r["movie_id"]) or {}), "rating": r["rating"]} for r in history.get("data", [])
     if r["rating"] >= 4.0),
    key=lambda r: -r["rating"],
)
refresh = st.session_state.get("last_refresh")
if refresh and refresh.get("user_id") != user_id:
    refresh = None

left, right = st.columns([5, 2], gap="large")
with left:
    source = recs.get("source", "popular")
    st.subheader(f"Recommended for user {user_id}")
    st.caption(
        f"source **{source}** · model {recs.get('model_version') or '—'} · "
        f"computed {recs.get('updated_at') or '—'}"
        + (f" · {recs['reason']}" if recs.get("reason") else "")
    )
    if "rate_error" in st.session_state:
        st.error(f"Could not rate: {st.session_state['rate_error']}", icon=":material/warning:")
    if refresh:
        title = movie_label(catalogue.get(refresh["movie_id"]), refresh["movie_id"])
        if refresh["refreshed"]:
            st.success(
                f"Refreshed in {refresh['elapsed_ms']:.0f} ms after you rated {title} "
                f"{stars(refresh['rating'])} · {summarise_changes(refresh['before'], ids)} · "
                f"event {refresh['event_id'][:8]}",
                icon=":material/bolt:",
            )
        else:
            st.warning(
                f"Your rating of {title} was accepted, but the worker has not written your new "
                f"list within {refresh['elapsed_ms'] / 1000:.0f} s. Is it running? See Live stream.",
                icon=":material/hourglass_top:",
            )
    moves = list_changes(refresh["before"], ids) if refresh and refresh["refreshed"] else {}
    rows = []
    for rank, item in enumerate(items, 1):
        movie = catalogue.get(int(item["movie_id"])) or {}
        rows.append({
            "rank": rank,
            "change": change_label(moves[item["movie_id"]]) if moves else "",
            "title": item.get("title") or f"movie {item['movie_id']}",
            "year": movie.get("year"),
            "genres": ", ".join(item.get("genres") or []),
            "score": round(float(item["score"]), 3),
            "why": reason_for(item, source, rated_movies),
        })
    if rows:
        # A static table (cheaper to draw than the data grid), rows tinted by what changed.
        with st.container(key="recommendations"):
            st.table(pd.DataFrame(rows).style.apply(_tint, axis=1).format({"score": "{:.3f}", "year": _year}),
                     hide_index=True)
    else:
        st.info("Nothing to recommend yet: no ratings have been streamed.")

    if source == "popular" and user_genres:
        st.markdown(f"**Popular in {', '.join(user_genres)}** — a fill-in until the model knows "
                    "you (not personal)")
        pool = attempt("load popular movies", lambda: client.popular(300)) or {"items": []}
        fill = [i for i in pool["items"] if set(i.get("genres") or []) & set(user_genres)][:10]
        st.dataframe(pd.DataFrame([{"title": i.get("title"), "genres": ", ".join(i.get("genres") or [])}
                                   for i in fill]), hide_index=True, width="stretch")

    st.markdown("**Rate a movie**")
    candidates = {int(i["movie_id"]): i.get("title") or f"movie {i['movie_id']}" for i in items}
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    # Titles shown lately, by id: a click made before the browser drew the new list sends the
    # title it still shows, which the new options no longer hold.
    shown = {**st.session_state.get("rate_titles", {}), **{t: m for m, t in candidates.items()}}
    st.session_state["rate_titles"] = dict(list(shown.items())[-200:])
    movie_id = c1.selectbox("Movie", list(candidates), format_func=candidates.get, key="rate_movie")
    c2.select_slider("Stars", RATING_STEPS, value=4.0, format_func=stars, key="rate_stars")
    c3.button("Rate", type="primary", disabled=movie_id is None, on_click=_rate,
              args=(user_id, ids), key="rate_button")
    st.caption("Any other movie can be rated from the Movies page.")

with right:
    st.subheader("Your ratings")
    st.caption(f"{history.get('count', 0)} in total, newest first")
    if history.get("data"):
        st.dataframe(
            pd.DataFrame([
                {
                    "title": movie_label(catalogue.get(r["movie_id"]), r["movie_id"]),
                    "rating": stars(float(r["rating"])),
                    "rated at": str(r["rated_at"])[:19].replace("T", " "),
                }
                for r in history["data"]
            ]),
            hide_index=True, width="stretch",
        )
    else:
        st.info("No ratings yet.")
