"""The web app in a real browser: set-up shared by ``reelstream bench ui`` and the end-to-end
test (MovieLens users streamed through the real worker, the API, Streamlit, and Debian's
Chromium driven by Playwright)."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from reelstream.settings import Settings

__all__ = ["RatingSeen", "chromium_path", "launch_browser", "open_for_you", "rate_in_browser",
           "seed_movielens", "table_text"]

_REFRESHED = re.compile(r"Refreshed in (\d+) ms .*?event ([0-9a-f]{8})")


def chromium_path() -> str | None:
    """Debian's Chromium (``apt-get install chromium``), or ``REELSTREAM_CHROMIUM``."""
    for candidate in (os.environ.get("REELSTREAM_CHROMIUM"), shutil.which("chromium"),
                      "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@contextmanager
def launch_browser(executable: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"],
                                             headless=True)
        try:
            yield browser
        finally:
            browser.close()


def seed_movielens(settings: Settings, api_url: str, dataset: Path, max_user: int = 20) -> int:
    """The catalogue into PostgreSQL and the ratings of users ``1..max_user`` posted to the
    API (so the worker learns them); returns how many ratings were posted."""
    from reelstream.movielens.loaders import load_movies, load_ratings
    from reelstream.store import EventStore

    with EventStore(settings.postgres_dsn) as store:
        store.upsert_movies(load_movies(dataset))
    ratings = load_ratings(dataset)
    ratings = ratings[ratings.user_id <= max_user]
    headers = {"X-API-Key": settings.api_key.get_secret_value()}
    events = [
        {"user_id": int(u), "movie_id": int(m), "rating": float(r),
         "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(t)))}
        for u, m, r, t in ratings[["user_id", "movie_id", "rating", "timestamp"]].itertuples(index=False)
    ]
    with httpx.Client(base_url=api_url, timeout=30) as client:
        for start in range(0, len(events), 1000):
            client.post("/ratings/batch", json={"events": events[start:start + 1000]},
                        headers=headers).raise_for_status()
    return len(events)


def open_for_you(browser: Any, url: str, user_id: int) -> tuple[Any, float]:
    """A new tab on the For you page of ``user_id``; returns it and the seconds until it was
    interactive (the list drawn and the Rate button enabled)."""
    page = browser.new_page(viewport={"width": 1440, "height": 1200})
    start = time.perf_counter()
    page.goto(url)
    page.get_by_role("button", name="Rate", exact=True).wait_for(state="visible", timeout=30_000)
    if user_id != 1:
        box = page.get_by_label("User id")
        box.fill(str(user_id))
        box.press("Enter")
        page.get_by_text(f"Recommended for user {user_id}").wait_for(timeout=30_000)
    page.locator(_LIST).wait_for(timeout=30_000)
    return page, time.perf_counter() - start


_LIST = ".st-key-recommendations"


def table_text(page: Any) -> str:
    """The text of the recommendation list on the For you page."""
    return page.locator(_LIST).text_content() or ""


@dataclass(frozen=True)
class RatingSeen:
    visible_ms: float  # click -> the refreshed list on screen (measured by the browser's driver)
    shown_ms: float  # what the page says: rating posted -> new list read
    before: str
    after: str


def rate_in_browser(page: Any, timeout_s: float = 15.0) -> RatingSeen:
    """Click Rate (the selected movie, default stars) and wait until the page shows a new
    "Refreshed in" message; the table's text before and after."""
    before = table_text(page)
    alert = page.get_by_text(_REFRESHED)
    previous = alert.first.text_content() if alert.count() else ""
    start = time.perf_counter()
    page.get_by_role("button", name="Rate", exact=True).click()
    try:
        page.wait_for_function(
            "prev => [...document.querySelectorAll('[data-testid=stAlertContainer], [role=alert]')]"
            ".some(e => e.textContent.includes('Refreshed in') && !e.textContent.includes(prev))",
            arg=(_REFRESHED.search(previous or "") or [None, None, "\x00"])[2],
            timeout=timeout_s * 1000,
        )
    except Exception as exc:  # playwright's TimeoutError: say what the page shows instead
        alerts = [a.text_content() for a in page.locator("[data-testid=stAlertContainer]").all()]
        raise RuntimeError(f"no refreshed list within {timeout_s:.0f} s; the page says {alerts}") from exc
    try:  # the table is drawn right after the message, in the same script run
        page.wait_for_function(
            "prev => { const el = document.querySelector('.st-key-recommendations');"
            " return el && el.textContent !== prev; }",
            arg=before, timeout=3000,
        )
    except Exception:  # noqa: BLE001 - an unchanged list is possible; the caller asserts
        pass
    visible = (time.perf_counter() - start) * 1000
    message = alert.first.text_content() or ""
    match = _REFRESHED.search(message)
    return RatingSeen(visible, float(match[1]) if match else float("nan"), before, table_text(page))


@dataclass(frozen=True)
class UiBenchResult:
    interactive_s: list[float]  # page load -> list drawn and Rate enabled, one per fresh tab
    visible_ms: list[float]  # click Rate -> refreshed list on screen
    shown_ms: list[float]  # the page's own figure: rating posted -> new list read (API)
    unchanged: int  # ratings after which the table text did not change


def run_ui_bench(settings: Settings, dataset: Path, log_dir: Path, *, ratings: int = 20,
                 loads: int = 5, log: Any = print) -> UiBenchResult:
    """On a scratch corner of the running stack: worker, API and web app on free ports,
    MovieLens users 1-20 streamed in, then ``loads`` fresh page loads and ``ratings`` ratings
    in Chromium."""
    from pydantic import SecretStr

    from reelstream.processes import free_port
    from benchmarks.scratch import scratch_settings
    from reelstream.demo import serve_api
    from reelstream.kafka import ensure_topics
    from reelstream.streaming.process import WorkerProcess
    from reelstream.webapp import UiProcess

    executable = chromium_path()
    if executable is None:
        raise RuntimeError("no Chromium: apt-get install -y --no-install-recommends chromium")
    with scratch_settings(settings, "benchui") as scratch:
        scratch = scratch.model_copy(update={
            "api_port": free_port(), "ui_port": free_port(), "ui_api_url": "",
            "api_key": SecretStr("bench-ui-key"), "environment": "test",
        })
        ensure_topics(scratch, {scratch.ratings_topic: 2, scratch.dlq_topic: 1})
        with WorkerProcess(scratch, log_dir / "bench-ui-worker.log") as worker, \
                serve_api(scratch) as api_url:
            worker.wait_ready()
            log(f"worker ready; seeding MovieLens users 1-20 through {api_url}")
            seed_movielens(scratch, api_url, dataset, max_user=20)
            _wait_personal(api_url, user_id=1)
            with UiProcess(scratch, log_dir / "bench-ui.log") as ui, launch_browser(executable) as browser:
                open_for_you(browser, ui.url, 1)[0].close()  # Streamlit's first run compiles pages
                interactive = []
                for _ in range(loads):
                    page, seconds = open_for_you(browser, ui.url, 1)
                    interactive.append(seconds)
                    page.close()
                page, _ = open_for_you(browser, ui.url, 1)
                seen = [rate_in_browser(page) for _ in range(ratings)]
                page.close()
    return UiBenchResult(interactive, [s.visible_ms for s in seen], [s.shown_ms for s in seen],
                         sum(1 for s in seen if s.after == s.before))


def _wait_personal(api_url: str, user_id: int, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if httpx.get(f"{api_url}/users/{user_id}/recommendations").json().get("source") == "personal":
            return
        time.sleep(0.5)
    raise RuntimeError(f"user {user_id}'s list did not become personal in {timeout_s:.0f} s")
