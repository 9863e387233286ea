"""Every page of the web app rendered headless (``AppTest``) against a fake API client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from fake_client import FakeClient, stats

from ui.client import ApiError
from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parents[2] / "ui" / "pages"
ALL = ["for_you", "movies", "popular", "live", "models"]


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def page(name: str, fake: FakeClient, **state: object) -> AppTest:
    app = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=30)
    app.session_state["client"] = fake
    for key, value in state.items():
        app.session_state[key] = value
    return app.run()


@pytest.mark.parametrize("name", ALL)
def test_every_page_renders(name: str) -> None:
    fake = FakeClient()
    app = page(name, fake, existing_user_id=7)
    assert not app.exception
    assert not app.error, [e.value for e in app.error]
    assert app.dataframe, "each page shows at least one table"
    assert fake.calls


@pytest.mark.parametrize("name", ALL)
def test_api_errors_become_messages(name: str) -> None:
    fake = FakeClient()
    fake.fail_with = "the reelstream API at http://x is not reachable (connection refused)"
    app = page(name, fake, existing_user_id=7)
    assert not app.exception
    assert any("not reachable" in e.value for e in app.error)


def test_for_you_shows_list_reasons_and_history() -> None:
    app = page("for_you", FakeClient(), existing_user_id=7)
    recs, history = app.table[0].value, app.dataframe[0].value
    assert list(recs["title"]) == ["Toy Story", "Jumanji", "Heat"]
    assert list(recs["year"]) == [1995, 1995, 1995]
    assert recs["why"][2] == "because you rated Fargo 4.5★ (62%)"  # the API's "because"
    assert recs["why"][0] == "predicted from your ratings"  # no reason given for Toy Story
    assert list(history["title"]) == ["Fargo (1996)"]
    assert any("source **personal**" in c.value for c in app.caption)


def test_rating_calls_the_client_and_shows_what_changed() -> None:
    fake = FakeClient()
    app = page("for_you", fake, existing_user_id=7)
    app.selectbox(key="rate_movie").set_value(2)
    app.select_slider(key="rate_stars").set_value(2.5)
    app.button(key="rate_button").click().run()
    assert fake.called("rate_and_wait") == [(7, 2, 2.5)]
    assert not app.exception
    recs = app.table[0].value
    assert list(recs["title"]) == ["Alien", "Toy Story", "Heat"]
    assert list(recs["change"]) == ["new", "▼ 1", "="]
    message = app.success[0].value
    assert message.startswith("Refreshed in 42 ms after you rated Jumanji (1995) ★★½ 2.5")
    assert "1 new, 0 up, 1 down, 1 dropped" in message
    assert app.dataframe[0].value["title"][0] == "Jumanji (1995)"  # history updated too


def test_new_user_gets_the_genre_fill_in_labelled() -> None:
    fake = FakeClient()
    app = page("for_you", fake)
    app.radio(key="mode").set_value("A new user").run()
    app.multiselect[0].set_value(["Crime"])
    app.button[0].click().run()  # the form's submit button
    assert not app.exception
    assert any("a fill-in until the model knows you (not personal)" in m.value for m in app.markdown)
    fill = app.dataframe[0].value
    assert set(fill["title"]) == {"Heat", "Fargo"}  # the Crime movies of the popular list


def test_movies_search_and_movie_page() -> None:
    fake = FakeClient()
    app = page("movies", fake)
    app.text_input(key="movie_query").input("fargo").run()
    assert fake.called("search_movies")[-1][0] == "fargo"
    assert list(app.dataframe[0].value["title"]) == ["Fargo"]
    assert app.header[0].value == "Fargo (1996)"
    assert [m.value for m in app.metric] == ["42", "3.90 ★"]
    app.button(key="movie_rate").click().run()
    assert fake.called("rate_and_wait")[-1][1:] == (5, 4.0)
    assert "refreshed in 42 ms" in app.success[0].value


def test_popular_shows_trending_and_all_time() -> None:
    app = page("popular", FakeClient())
    trending, all_time = (d.value for d in app.dataframe)
    assert list(trending["title"]) == ["Heat", "Toy Story", "Alien", "Fargo"]
    assert list(all_time["ratings"]) == [299, 298]


def test_live_computes_rates_and_flags_a_stalled_worker() -> None:
    fake = FakeClient()
    t0 = datetime.now(UTC)
    fake.stats_samples = [stats(t0, learned=100, lag=0), stats(t0 + timedelta(seconds=2), learned=100, lag=50),
                          stats(t0 + timedelta(seconds=4), learned=100, lag=90)]
    app = page("live", fake)
    app.run()
    app.run()  # run_every fragments are not simulated: each run is one poll
    assert not app.exception
    assert any("w1" in e.value and "lag grew from 0 to 90" in e.value for e in app.error)
    assert app.metric[3].value == "90"
    assert app.dataframe[1].value["error"][0] == "rating 7 out of range"


def test_live_says_when_the_heartbeat_is_old() -> None:
    fake = FakeClient()
    fake.stats_samples = [stats(stalled=True)]
    app = page("live", fake)
    assert any("looks stalled: no heartbeat for 60 s" in e.value for e in app.error)
    assert app.dataframe[0].value["state"][0] == "STALLED"


def test_models_table_workers_and_side_by_side() -> None:
    fake = FakeClient()
    app = page("models", fake)
    table = app.dataframe[0].value
    assert list(table["version"]) == ["v2", "v1"] and table["aliases"][1] == "champion"
    assert table["served by"][1] == "w1"
    assert any("Every worker serves champion v1" in s.value for s in app.success)
    assert fake.called("version_recommendations") == [("1", 1), ("2", 1)]
    assert list(app.dataframe[2].value["title"]) == ["Heat", "Alien"]
    live = app.dataframe[3].value  # champion and challenger on the live stream
    assert list(live["role"]) == ["champion", "challenger"] and list(live["HR@10"]) == [0.14, 0.15]
    assert any("last 10,000 events: champion (champion-v1+online) HR@10 0.140" in c.value
               for c in app.caption)


def test_models_promote_needs_the_confirmation() -> None:
    fake = FakeClient()
    app = page("models", fake)
    app.button[0].click().run()  # Apply, not confirmed
    assert not fake.called("promote") and "Tick the confirmation" in app.warning[0].value
    app.checkbox[0].check()
    app.button[0].click().run()  # confirmed, no key typed: the app's own key is not used
    assert not fake.called("promote") and "Type the API key" in app.warning[0].value
    app.text_input[0].input("the-operators-key")
    app.button[0].click().run()
    assert fake.called("promote") == [("2", "the-operators-key")]
    assert any("Champion is now v2" in s.value for s in app.success)
    # The worker still serves v1: the page now warns.
    app.run()
    assert any("Not every worker serves the champion v2" in w.value for w in app.warning)


def test_live_warns_when_no_worker_reports() -> None:
    fake = FakeClient()
    empty = stats()
    empty["workers"] = []
    fake.stats_samples = [empty]
    app = page("live", fake)
    assert not app.exception
    assert any("No worker has reported" in w.value for w in app.warning)


def test_a_refused_rating_is_a_message() -> None:
    fake = FakeClient()
    app = page("for_you", fake, existing_user_id=7)

    def refuse(*args: object, **kwargs: object) -> None:
        raise ApiError("the API refused the key (set REELSTREAM_UI_API_KEY to the API's key)", 401)

    fake.rate_and_wait = refuse  # type: ignore[method-assign]
    app.button(key="rate_button").click().run()
    assert not app.exception
    assert any("Could not rate: the API refused the key" in e.value for e in app.error)
    assert list(app.table[0].value["title"]) == ["Toy Story", "Jumanji", "Heat"]  # unchanged


def test_new_user_with_liked_movies_posts_them() -> None:
    fake = FakeClient()
    app = page("for_you", fake)
    app.radio(key="mode").set_value("A new user").run()
    app.multiselect[1].set_value([3, 1, 4])
    app.button[0].click().run()
    assert not app.exception
    posted = [args[1:] for args in fake.called("post_rating")] + [
        args[1:] for args in fake.called("rate_and_wait")]
    assert posted == [(3, 5.0), (1, 5.0), (4, 5.0)]
    user_id = fake.called("rate_and_wait")[0][0]
    assert user_id >= 1_000_000_000 and f"You are user {user_id}." in [c.value for c in app.caption]
