"""``EmbeddedStack``: start, stop and inspect the embedded servers as one unit."""

from __future__ import annotations

import fcntl
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from reelstream.settings import Settings
from reelstream.processes import (
    PidFile,
    port_answers,
    port_owner,
    spawn,
    stop_group,
    wait_until,
)
from reelstream.stack.base import Service, ServiceStatus, StackError, State
from reelstream.stack.mlflow_server import MlflowService
from reelstream.stack.postgres import PostgresService
from reelstream.stack.readiness import Vanished, wait_ready
from reelstream.stack.redis_server import RedisService
from reelstream.stack.kafka_broker import KafkaService

__all__ = ["EmbeddedStack", "ServiceStatus", "SERVICES", "State"]

#: Every service, in start order of the slowest first (so their boot times overlap).
SERVICES: dict[str, type[Service]] = {
    "mlflow": MlflowService,
    "kafka": KafkaService,
    "redis": RedisService,
    "postgres": PostgresService,
}
_DISPLAY_ORDER = ("kafka", "redis", "postgres", "mlflow")


class EmbeddedStack:
    """The embedded servers for one ``Settings``: state, logs and pid files under ``state_dir``.

    A service is managed only if it is *embedded*: by default, when its URL setting equals
    the embedded default (``Settings.is_embedded``). Pass ``embedded=`` to manage services on
    other loopback ports (the test fixtures do, with free ports). ``die_with_parent`` makes the
    servers exit with the creating process (tests); the CLI leaves them running.

    >>> stack = EmbeddedStack(settings)                         # doctest: +SKIP
    >>> stack.up(services=["kafka", "redis", "postgres"])       # doctest: +SKIP
    >>> stack.down()                                            # doctest: +SKIP
    """

    def __init__(
        self,
        settings: Settings,
        *,
        embedded: Iterable[str] | None = None,
        die_with_parent: bool = False,
    ) -> None:
        self.settings = settings
        self.state_dir = Path(settings.state_dir).resolve()
        self.die_with_parent = die_with_parent
        if embedded is None:
            embedded = [n for n, cls in SERVICES.items() if settings.is_embedded(cls.setting)]
        self.embedded = set(self._check_names(embedded))
        self._services = {n: cls(settings, self.state_dir) for n, cls in SERVICES.items()}

    # ---- helpers ------------------------------------------------------------------------
    @staticmethod
    def _check_names(names: Iterable[str]) -> list[str]:
        names = list(names)
        unknown = [n for n in names if n not in SERVICES]
        if unknown:
            raise StackError(
                f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(SERVICES)}"
            )
        return names

    def _selected(self, services: Iterable[str] | None, order: Iterable[str]) -> list[str]:
        wanted = set(self._check_names(services if services is not None else SERVICES))
        return [n for n in order if n in wanted]

    def service(self, name: str) -> Service:
        return self._services[name]

    def _pid_file(self, name: str) -> PidFile:
        return PidFile(self._services[name].pid_path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One ``up``/``down`` at a time per state dir (two terminals, two test workers)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "stack.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # ---- up -----------------------------------------------------------------------------
    def up(
        self,
        services: Iterable[str] | None = None,
        *,
        on_status: Callable[[ServiceStatus], None] | None = None,
        timeout_s: float | None = None,
    ) -> list[ServiceStatus]:
        """Start the selected services (default: all) and wait until each really answers.

        Idempotent: a running service is left alone (``already running``). A service whose
        process has died (killed, crashed: its pid file is left behind, or it exits while
        being checked) is started again, once. ``timeout_s`` overrides each service's own
        start timeout. Raises :class:`StackError` naming every service that failed (a server
        that did not answer in time is stopped again), after the others are up.
        """
        names = self._selected(services, SERVICES)  # start order: slowest first
        results: dict[str, ServiceStatus] = {}
        errors: dict[str, str] = {}

        def report(status: ServiceStatus) -> None:
            results[status.name] = status
            if on_status:
                on_status(status)

        def wait(
            name: str,
            proc: subprocess.Popen[bytes] | None,
            t0: float,
            note: str | None,
            vanished: list[str],
        ) -> None:
            try:
                svc = self._services[name]
                report(wait_ready(svc, self._pid_file(name), proc, t0, timeout_s, note=note))
            except Vanished:
                vanished.append(name)
            except Exception as exc:  # noqa: BLE001 - reported per service
                errors[name] = str(exc) if isinstance(exc, StackError) else f"{name}: {exc!r}"

        with self._locked():
            (self.state_dir / "pids").mkdir(parents=True, exist_ok=True)
            pending, restarted = names, set()
            while pending:
                vanished: list[str] = []
                with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
                    # Spawning happens in this thread (a PR_SET_PDEATHSIG child dies with the
                    # *thread* that forked it); only the waiting runs in the pool.
                    for name in pending:
                        self._start_one(name, name in restarted, report, errors, pool, wait,
                                        vanished)  # fmt: skip
                # Seen running, gone while waiting (it was still dying): start it again.
                pending = [n for n in names if n in vanished and n not in restarted]
                restarted.update(pending)

        if errors:
            raise StackError("\n".join(errors[n] for n in names if n in errors))
        return [results[n] for n in _DISPLAY_ORDER if n in results]

    def _start_one(
        self,
        name: str,
        restarting: bool,
        report: Callable[[ServiceStatus], None],
        errors: dict[str, str],
        pool: ThreadPoolExecutor,
        wait: Callable[..., None],
        vanished: list[str],
    ) -> None:
        svc = self._services[name]
        if name not in self.embedded:
            report(ServiceStatus(name, svc.url, "external"))
            return
        t0 = time.monotonic()
        pid_file = self._pid_file(name)
        if not restarting and pid_file.running_pid() is not None:
            pool.submit(wait, name, None, t0, None, vanished)
            return
        died = restarting or pid_file.read() is not None  # a pid file `down` did not remove
        note = "its previous process had died" if died else None
        pid_file.remove()
        try:
            # A server that just died may hold its port for a moment; anyone else keeps it.
            if port_answers(svc.host, svc.port) and not (
                died and wait_until(lambda: not port_answers(svc.host, svc.port), 5.0, 0.2)
            ):
                raise StackError(
                    f"{name}: port {svc.port} is already taken by {port_owner(svc.port)}; "
                    f"stop it or set REELSTREAM_{svc.setting.upper()} to another URL"
                )
            svc.prepare()
            proc = spawn(
                svc.command(),
                svc.log_path,
                pid_file,
                user=svc.user,
                env=svc.env(),
                cwd=self.state_dir,
                die_with_parent=self.die_with_parent,
            )
        except StackError as exc:
            errors[name] = str(exc)
        except (OSError, subprocess.SubprocessError) as exc:
            errors[name] = f"{name}: could not start: {exc}"
        else:
            pool.submit(wait, name, proc, t0, note, vanished)

    # ---- down / status --------------------------------------------------------------------
    def down(self, services: Iterable[str] | None = None) -> list[ServiceStatus]:
        """Stop the selected embedded services and every process they forked."""
        names = self._selected(services, reversed(_DISPLAY_ORDER))
        out, errors = [], []
        with self._locked():
            for name in names:
                svc = self._services[name]
                if name not in self.embedded:
                    out.append(ServiceStatus(name, svc.url, "external"))
                    continue
                pid_file = self._pid_file(name)
                pid = pid_file.running_pid()
                if pid is not None and not stop_group(pid, svc.stop_signal):
                    errors.append(f"{name}: pid {pid} (or a child of it) would not stop")
                    continue
                pid_file.remove()
                out.append(ServiceStatus(name, svc.url, "stopped", pid=pid))
        if errors:
            raise StackError("\n".join(errors))
        return out[::-1]

    def status(
        self, services: Iterable[str] | None = None, *, probe: bool = True
    ) -> list[ServiceStatus]:
        """What runs; with ``probe``, a running service is also asked a real request."""
        out = []
        for name in self._selected(services, _DISPLAY_ORDER):
            svc = self._services[name]
            if name not in self.embedded:
                out.append(ServiceStatus(name, svc.url, "external"))
                continue
            pid_file = self._pid_file(name)
            pid = pid_file.running_pid()
            if pid is None:
                died = pid_file.read() is not None  # `down` removes the pid file
                note = "its process died; `reelstream stack up` starts it again" if died else None
                out.append(ServiceStatus(name, svc.url, "stopped", note=note))
                continue
            state: State = "running"
            if probe and not wait_until(svc.ready, 0, interval_s=0):
                state = "not answering"
            out.append(ServiceStatus(name, svc.url, state, pid=pid))
        return out

    def kill(self, name: str) -> int | None:
        """SIGKILL service ``name`` as a crash would (no clean shutdown, pid file left behind,
        so ``up`` notes that it had died); returns the pid killed, None if it was not running."""
        pid = self._pid_file(name).running_pid()
        if pid is not None:
            stop_group(pid, signal.SIGKILL, timeout_s=10)
        return pid

    def running(self, name: str) -> bool:
        return self._pid_file(name).running_pid() is not None
