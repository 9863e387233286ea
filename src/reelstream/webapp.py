"""Run the web app (``ui/app.py``, Streamlit) as a child process against the configured API.

The library does not import the web app: it only locates its entry script and starts
``streamlit run`` on it, with the settings as ``REELSTREAM_*`` variables.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Self

import httpx

from reelstream.processes import Child, ProcessFailed
from reelstream.settings import Settings

__all__ = ["UiFailed", "UiProcess", "streamlit_command", "ui_script", "ui_url"]


class UiFailed(ProcessFailed):
    """Streamlit exited, or did not answer its health check in time."""


def ui_script() -> Path:
    spec = importlib.util.find_spec("ui")
    if spec is None or not spec.submodule_search_locations:
        raise UiFailed("the web app package `ui` is not installed with reelstream")
    return Path(next(iter(spec.submodule_search_locations))) / "app.py"


def ui_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.ui_host in ("0.0.0.0", "") else settings.ui_host
    return f"http://{host}:{settings.ui_port}"


def streamlit_command(settings: Settings) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(ui_script()),
        "--server.address", settings.ui_host,
        "--server.port", str(settings.ui_port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--client.toolbarMode", "minimal",
    ]


class UiProcess(Child):
    """``streamlit run ui/app.py`` in its own process group; ``start()`` returns once it
    answers its health check."""

    Failed = UiFailed

    def __init__(self, settings: Settings, log_path: Path) -> None:
        env = {**os.environ, **settings.to_env(), "PYTHONUNBUFFERED": "1"}
        super().__init__("the web app", streamlit_command(settings), log_path, env=env)
        self.settings = settings

    @property
    def url(self) -> str:
        return ui_url(self.settings)

    def start(self, timeout_s: float = 60.0) -> Self:
        super().start()
        try:
            self.wait_for(self._healthy, timeout_s)
        except UiFailed:
            self.stop()
            raise
        return self

    def _healthy(self) -> bool:
        return httpx.get(f"{self.url}/_stcore/health", timeout=1).status_code == 200

    def stop(self, timeout_s: float = 10.0) -> int:
        return super().stop(timeout_s)
