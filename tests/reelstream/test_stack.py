"""The embedded stack with real servers: up, idempotent up, status, down, failure paths.

Each test runs its own small stack on free ports in a tmp dir (not the session ``stack``),
because these tests stop what they start.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from reelstream.processes import free_port
from reelstream.settings import Settings, get_settings
from reelstream.stack import SERVICES, EmbeddedStack, StackError

pytestmark = pytest.mark.integration


def _settings(state_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "state_dir": state_dir,
        "kafka_bootstrap_servers": f"127.0.0.1:{free_port()}",
        "redis_url": f"redis://127.0.0.1:{free_port()}/0",
        "postgres_dsn": f"postgresql://reelstream@127.0.0.1:{free_port()}/reelstream",
        "mlflow_tracking_uri": f"http://127.0.0.1:{free_port()}",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def private_stack(tmp_path: Path) -> Iterator[EmbeddedStack]:
    stack = EmbeddedStack(_settings(tmp_path), embedded=SERVICES, die_with_parent=True)
    try:
        yield stack
    finally:
        stack.down()


def _family(pid: int) -> set[int]:
    """``pid``, its descendants and its process group."""
    pids = {pid}
    try:
        pids |= {c.pid for c in psutil.Process(pid).children(recursive=True)}
    except psutil.Error:
        pass
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pid:
                pids.add(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return pids


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.add(pid)
        except psutil.Error:
            continue
    return alive


def test_up_is_idempotent_status_reports_and_down_leaves_nothing(
    private_stack: EmbeddedStack,
) -> None:
    core = ["kafka", "redis", "postgres"]
    first = {s.name: s for s in private_stack.up(core)}
    assert {n: s.state for n, s in first.items()} == dict.fromkeys(core, "started")
    assert all(s.pid for s in first.values())
    assert "127.0.0.1" in first["kafka"].line()

    again = {s.name: s for s in private_stack.up(core)}
    assert {n: s.state for n, s in again.items()} == dict.fromkeys(core, "already running")
    assert {n: s.pid for n, s in again.items()} == {n: s.pid for n, s in first.items()}

    status = {s.name: s.state for s in private_stack.status()}
    assert status == {"kafka": "running", "redis": "running", "postgres": "running",
                      "mlflow": "stopped"}  # fmt: skip

    # PostgreSQL has forked backends; the role/database from the DSN exist
    import psycopg

    with psycopg.connect(private_stack.settings.postgres_dsn, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("reelstream",)
    families = {s.name: _family(s.pid or 0) for s in first.values()}
    assert len(families["postgres"]) > 1  # postmaster + its (setsid'ed) children

    down = {s.name: s.state for s in private_stack.down()}
    assert set(down.values()) == {"stopped"}
    for name, family in families.items():
        assert _alive(family | _family(first[name].pid or 0)) == set(), f"{name} left processes"
    assert not list((private_stack.state_dir / "pids").glob("*.pid"))
    assert {s.state for s in private_stack.status()} == {"stopped"}


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        settings = _settings(tmp_path, redis_url=f"redis://127.0.0.1:{port}/0")
        stack = EmbeddedStack(settings, embedded=SERVICES, die_with_parent=True)
        with pytest.raises(StackError, match=rf"redis: port {port} is already taken"):
            stack.up(["redis"])
    assert not stack.running("redis")


def test_a_server_that_exits_is_a_clear_error_with_its_log(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is not an address of this machine: redis-server cannot bind it
    settings = _settings(tmp_path, redis_url=f"redis://192.0.2.1:{free_port()}/0")
    stack = EmbeddedStack(settings, embedded=SERVICES, die_with_parent=True)
    with pytest.raises(StackError) as error:
        stack.up(["redis"])
    message = str(error.value)
    assert "redis: exited with code" in message
    assert "redis.log" in message and "bind" in message.lower()  # the log tail is included
    assert not stack.running("redis")


def test_an_external_url_is_not_started(tmp_path: Path) -> None:
    external = "redis://127.0.0.1:6379/15"
    settings = Settings(_env_file=None, state_dir=tmp_path, redis_url=external)
    stack = EmbeddedStack(settings)  # embedded services decided by the settings
    assert "redis" not in stack.embedded and "kafka" in stack.embedded
    [status] = stack.up(["redis"])
    assert (status.state, status.url) == ("external", external)
    assert not (tmp_path / "pids" / "redis.pid").exists()
    assert {s.name: s.state for s in stack.status()}["redis"] == "external"


def test_unknown_service_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="unknown service"):
        EmbeddedStack(_settings(tmp_path)).up(["zookeeper"])


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("REELSTREAM_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("REELSTREAM_REDIS_URL", "redis://127.0.0.1:6379/15")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_cli_status_and_errors(cli_env: Path) -> None:
    from reelstream.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["stack", "status"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "external" in lines["redis"] and "stopped" in lines["kafka"]
    assert "workers" in lines or "workers:" in lines  # the workers' section follows

    result = runner.invoke(app, ["stack", "up", "--only", "nope"])
    assert result.exit_code != 0
    assert "unknown service" in result.output

    result = runner.invoke(app, ["stack", "down", "--without", "mlflow"])
    assert result.exit_code == 0, result.output


def test_up_restarts_services_whose_process_was_killed(private_stack: EmbeddedStack) -> None:
    import signal

    import psycopg

    core = ["kafka", "redis", "postgres"]
    first = {s.name: s.pid for s in private_stack.up(core)}
    # a client connected to PostgreSQL while its server is killed (backends are left over)
    conn = psycopg.connect(private_stack.settings.postgres_dsn, connect_timeout=5)
    try:
        for name in core:
            os.kill(first[name] or 0, signal.SIGKILL)
        # straight away: the processes may still be exiting when `up` looks at them
        again = {s.name: s for s in private_stack.up(core)}
    finally:
        conn.close()
    for name in core:
        assert again[name].state == "started", again[name]
        assert again[name].pid not in (None, first[name])
        assert "its previous process had died" in (again[name].note or "")
        assert private_stack.service(name).ready(), name
    assert {s.name: s.state for s in private_stack.up(core)} == dict.fromkeys(
        core, "already running"
    )


def test_status_names_a_dead_process_and_a_foreign_port_stays_an_error(
    private_stack: EmbeddedStack,
) -> None:
    import signal

    [redis] = private_stack.up(["redis"])
    os.kill(redis.pid or 0, signal.SIGKILL)
    try:
        psutil.Process(redis.pid or 0).wait(10)  # reaped: we are its parent
    except psutil.NoSuchProcess:
        pass
    [status] = private_stack.status(["redis"])
    assert status.state == "stopped" and "stack up` starts it again" in (status.note or "")

    port = private_stack.service("redis").port
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(StackError, match=rf"redis: port {port} is already taken"):
            private_stack.up(["redis"])
    assert not private_stack.running("redis")
