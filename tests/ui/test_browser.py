"""The web app end to end in a real browser: Debian's Chromium driven by Playwright, on the
embedded stack with the real worker, the real API and Streamlit, each on free ports.

Open For you, rate a movie, and see the list the worker rewrote, with the refresh time the
page shows; then visit every page. Screenshots go to ``REELSTREAM_UI_SCREENSHOTS`` when set
(the README's images in ``docs/images`` are made this way), else to the test's tmp folder.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from pydantic import SecretStr

from benchmarks.ui import chromium_path, launch_browser, open_for_you, rate_in_browser, seed_movielens
from reelstream.demo import serve_api
from reelstream.kafka import ensure_topics
from reelstream.settings import Settings
from reelstream.streaming.process import WorkerProcess
from reelstream.webapp import UiProcess
from reelstream.processes import free_ports

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = chromium_path()
MATRIX = 2571  # "Matrix, The (1999)" in MovieLens
PAGES = {"movies": "Movies", "popular": "Popular now", "live": "Live stream", "models": "Models"}


#: Value-axis titles (units) each page's time charts must show.
AXES = {"live": {"events/s", "messages", "seconds", "milliseconds"},
        "models": {"HR@10", "RMSE (stars)"}}


def _assert_readable_axes(page, units: set[str]) -> None:  # type: ignore[no-untyped-def]
    """Charts (Vega, drawn as SVG) label time as clock time and values with their unit: not
    ".800" on the time axis nor "0.000000" on the value axis."""
    titles = set(page.locator(".vega-embed svg .role-axis-title text").all_text_contents())
    labels = page.locator(".vega-embed svg .role-axis-label text").all_text_contents()
    assert "time (UTC)" in titles and units <= titles, titles
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d", label) for label in labels), labels
    assert not [label for label in labels if re.fullmatch(r"\.\d+|-?\d+\.\d{5,}", label)], labels


def _register_two_versions(settings: Settings, dataset: Path) -> None:
    from reelstream.models.batch_als import BatchParams
    from reelstream.training import registry
    from reelstream.training.data import movielens_snapshot
    from reelstream.training.pipeline import train_and_evaluate

    ratings = movielens_snapshot(dataset)
    for users, end in ((60, "2024-01-01T00:00:00+00:00"), (120, "2024-01-02T00:00:00+00:00")):
        result = train_and_evaluate(ratings[ratings.user_id <= users], BatchParams(factors=8, iterations=4))
        registry.log_and_register(result, settings, end)


def _screenshot(page, path: Path) -> None:  # type: ignore[no-untyped-def]
    """A 256-colour PNG: as sharp for a page of text and flat colours, a third of the size
    (the README's copies are committed)."""
    from PIL import Image

    page.screenshot(path=str(path))
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256)
    small.save(path, optimize=True)


def _rate_and_wait_for_similar(settings: Settings, api_url: str, movie_id: int) -> None:
    """A rating of ``movie_id`` in a batch of its own, so the worker writes its similar movies
    (it writes at most 20 movies' lists per batch, and the seed's batches were large)."""
    import time

    import httpx

    headers = {"X-API-Key": settings.api_key.get_secret_value()}
    with httpx.Client(base_url=api_url, timeout=10) as client:
        event = {"user_id": 2, "movie_id": movie_id, "rating": 4.5}
        client.post("/ratings", json=event, headers=headers).raise_for_status()
        for _ in range(100):
            if client.get(f"/movies/{movie_id}/similar").json().get("items"):
                return
            time.sleep(0.1)
    raise AssertionError(f"no similar movies written for movie {movie_id}")


def _post_traffic(settings: Settings, api_url: str, dataset: Path, seconds: float = 8.0) -> None:
    """MovieLens users 21-40's ratings posted in small batches for a few seconds."""
    import time

    import httpx

    from reelstream.movielens.loaders import load_ratings

    ratings = load_ratings(dataset)
    ratings = ratings[(ratings.user_id > 20) & (ratings.user_id <= 40)]
    events = [{"user_id": int(u), "movie_id": int(m), "rating": float(r)}
              for u, m, r in ratings[["user_id", "movie_id", "rating"]].itertuples(index=False)]
    headers = {"X-API-Key": settings.api_key.get_secret_value()}
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=api_url, timeout=10) as client:
        for start in range(0, len(events), 40):
            if time.monotonic() > deadline:
                break
            client.post("/ratings/batch", json={"events": events[start:start + 40]}, headers=headers)
            for user_id in range(1, 21):  # and people reading their lists
                client.get(f"/users/{user_id}/recommendations")
            time.sleep(0.2)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: apt-get install -y --no-install-recommends chromium")
def test_rate_in_the_browser_and_see_the_new_list(isolated: Settings, movielens_small: Path,
                                                  tmp_path: Path) -> None:
    api_port, ui_port = free_ports(2)
    settings = isolated.model_copy(update={
        "api_key": SecretStr("browser-test-key"),
        "api_port": api_port,
        "ui_port": ui_port,
        "ui_api_url": "",
        "mlflow_tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
    })
    shots = Path(os.environ.get("REELSTREAM_UI_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    ensure_topics(settings, {settings.ratings_topic: 2, settings.dlq_topic: 1})
    _register_two_versions(settings, movielens_small)

    with WorkerProcess(settings, tmp_path / "worker.log") as worker, serve_api(settings) as api_url:
        worker.wait_ready()
        posted = seed_movielens(settings, api_url, movielens_small, max_user=20)
        assert posted > 2000
        with UiProcess(settings, tmp_path / "ui.log") as ui, launch_browser(CHROMIUM) as browser:
            page, interactive_s = open_for_you(browser, ui.url, user_id=1)
            # The worker has learned user 1 once the list is personal.
            personal = page.locator('[data-testid="stCaptionContainer"]', has_text="source personal")
            for _ in range(60):
                if personal.count():
                    break
                page.wait_for_timeout(500)
                page.reload()
                page.get_by_role("button", name="Rate", exact=True).wait_for()
            assert personal.count(), "user 1's list never became personal"

            seen = rate_in_browser(page)
            assert seen.after != seen.before, "the list did not change after the rating"
            assert 0 < seen.shown_ms < 1000, f"the page shows a refresh of {seen.shown_ms} ms"
            assert re.search(r"list changed: \d+ new", page.get_by_text("Refreshed in").first.text_content())
            _screenshot(page, shots / "for-you.png")

            for path, title in PAGES.items():
                page.goto(f"{ui.url}/{path}")
                page.get_by_role("heading", name=re.compile(title)).wait_for(timeout=30_000)
                if path == "live":
                    # Real traffic while the page polls, so its charts have something to draw.
                    traffic = threading.Thread(target=_post_traffic, args=(settings, api_url, movielens_small))
                    traffic.start()
                    page.get_by_text("Events in (API)").wait_for(timeout=30_000)
                    traffic.join()
                    page.wait_for_timeout(2500)
                else:
                    if path == "movies":
                        _rate_and_wait_for_similar(settings, api_url, MATRIX)
                        box = page.get_by_label("Title contains")
                        box.fill("Matrix")
                        box.press("Enter")
                        page.get_by_role("heading", name=re.compile(r"Matrix")).wait_for(timeout=30_000)
                        # The most rated of them, whose similar movies the worker has written.
                        page.get_by_label("Open a movie").click()
                        page.get_by_role("option", name="Matrix, The (1999)").click()
                        page.get_by_role("heading", name="Matrix, The (1999)").wait_for(timeout=30_000)
                    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)
                page.wait_for_timeout(2500)  # charts draw after the data arrives
                assert page.locator('[data-testid="stException"]').count() == 0, path
                _screenshot(page, shots / f"{path}.png")
                if path in AXES:
                    _assert_readable_axes(page, AXES[path])
            page.close()
    assert interactive_s < 30
    assert {p.name for p in shots.iterdir()} >= {"for-you.png", *(f"{p}.png" for p in PAGES)}
