"""Run the web app (``ui/app.py``, Streamlit) as a child process against the configured API.

The library does not import the web app: it only locates its entry script and starts
``streamlit run`` on it, with the settings as ``REELSTREAM_*`` variables.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from reelstream.settings import Settings

__all__ = ["UiFailed", "UiProcess", "streamlit_command", "ui_script", "ui_url"]


class UiFailed(RuntimeError):
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


class UiProcess:
    """``streamlit run ui/app.py`` in its own process group, stopped on exit."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = Path(log_path)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return ui_url(self.settings)

    def start(self, timeout_s: float = 60.0) -> UiProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.settings.to_env(), "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                streamlit_command(self.settings), stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise UiFailed(f"streamlit exited with {self.proc.returncode}:\n{self._tail()}")
            try:
                if httpx.get(f"{self.url}/_stcore/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise UiFailed(f"the web app did not answer in {timeout_s:.0f} s:\n{self._tail()}")

    def _tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self) -> UiProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
