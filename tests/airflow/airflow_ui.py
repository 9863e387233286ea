"""The nightly DAG's graph in the Airflow UI, in a real headless browser (README screenshot).

Debian's Chromium driven by Playwright (which cannot download its own browsers here); the
simple auth manager's JWT goes in the ``_token`` cookie the UI reads after its login form.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def screenshot_dag_graph(base_url: str, token: str, dag_id: str, run_id: str,
                         out: Path) -> str:
    """Open ``run_id`` of ``dag_id`` in the graph view, save a PNG, return the page's text."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 640})
            context.add_cookies([{"name": "_token", "value": token, "url": base_url}])
            page = context.new_page()
            page.goto(f"{base_url}/dags/{dag_id}/runs/{run_id}")
            page.get_by_role("button", name="Show Graph (Press g)").click()
            page.get_by_text("announce", exact=True).first.wait_for(timeout=30_000)
            page.wait_for_timeout(2000)  # the graph's layout animation
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            _shrink(out)
            return page.inner_text("body")
        finally:
            browser.close()


def _shrink(png: Path) -> None:
    """64 colours are plenty for a UI screenshot: ~30 KB instead of ~100 KB in git."""
    from PIL import Image

    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)
