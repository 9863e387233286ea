"""What every embedded service provides; :class:`~reelstream.stack.EmbeddedStack` drives them."""

from __future__ import annotations

import signal
from abc import ABC, abstractmethod
from pathlib import Path
from dataclasses import dataclass
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from reelstream.settings import Settings

__all__ = ["Service", "ServiceStatus", "StackError", "State"]


class StackError(RuntimeError):
    """A service could not be started or stopped; the message says why (with the log tail)."""


State = Literal["started", "already running", "running", "not answering", "stopped", "external"]


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    url: str
    state: State
    pid: int | None = None
    seconds: float | None = None
    note: str | None = None

    def line(self) -> str:
        state = self.state
        if self.seconds is not None and self.state == "started":
            state = f"started in {self.seconds:.1f}s"
        extra = f"  pid {self.pid}" if self.pid else ""
        note = f"  ({self.note})" if self.note else ""
        return f"{self.name:<9} {state:<20} {self.url}{extra}{note}"


class Service(ABC):
    """One server of the embedded stack, run as a background process on a loopback port."""

    #: Short name used on the command line, in file names and in status lines.
    name: ClassVar[str]
    #: The ``Settings`` field holding this service's URL.
    setting: ClassVar[str]
    #: Seconds ``up`` waits for the service to answer before giving up.
    start_timeout_s: ClassVar[float] = 30.0
    #: Signal that asks the server for a clean, quick shutdown.
    stop_signal: ClassVar[int] = signal.SIGTERM

    def __init__(self, settings: Settings, state_dir: Path) -> None:
        self.settings = settings
        self.state_dir = state_dir

    @property
    def url(self) -> str:
        return str(getattr(self.settings, self.setting))

    @property
    def host(self) -> str:
        return urlsplit(self._url_with_scheme()).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        port = urlsplit(self._url_with_scheme()).port
        if port is None:
            raise StackError(f"{self.name}: no port in {self.setting}={self.url!r}")
        return port

    def _url_with_scheme(self) -> str:
        return self.url if "://" in self.url else f"tcp://{self.url}"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "logs" / f"{self.name}.log"

    @property
    def pid_path(self) -> Path:
        return self.state_dir / "pids" / f"{self.name}.pid"

    @property
    def user(self) -> str | None:
        """System user to run the server as (None: the current user)."""
        return None

    def env(self) -> dict[str, str] | None:
        """Environment for the server process (None: inherit ours)."""
        return None

    def prepare(self) -> None:
        """One-off work before the first start (e.g. ``initdb``); must be idempotent."""

    @abstractmethod
    def command(self) -> list[str]:
        """The server's command line."""

    @abstractmethod
    def ready(self) -> bool:
        """One quick probe: does the service answer a real request?"""

    def after_up(self) -> str | None:
        """Work once the service answers (topics, roles, migrations); returns a note or None."""
        return None
