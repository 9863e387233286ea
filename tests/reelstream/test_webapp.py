"""Locating and launching the web app; the processes ``make demo`` leaves running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil

from reelstream.background import remember, running, stop_all
from reelstream.settings import Settings
from reelstream.webapp import streamlit_command, ui_script, ui_url


def test_the_web_app_is_found_and_started_with_the_settings(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, ui_host="0.0.0.0", ui_port=18999, state_dir=tmp_path)
    script = ui_script()
    assert script.name == "app.py" and script.parent.name == "ui" and script.is_file()
    command = streamlit_command(settings)
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4] == str(script)
    assert command[command.index("--server.port") + 1] == "18999"
    assert command[command.index("--server.headless") + 1] == "true"
    assert ui_url(settings) == "http://127.0.0.1:18999"


def test_ui_settings_default_to_the_api() -> None:
    settings = Settings(_env_file=None, api_host="10.0.0.5", api_port=9000)
    assert settings.ui_api_base_url == "http://10.0.0.5:9000"
    assert settings.ui_admin_key == settings.api_key.get_secret_value()
    other = Settings(_env_file=None, ui_api_url="http://api:8000/", ui_api_key="k2")
    assert other.ui_api_base_url == "http://api:8000" and other.ui_admin_key == "k2"


def test_demo_processes_are_remembered_and_stopped(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, state_dir=tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                            start_new_session=True)
    gone = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    try:
        remember(settings, "api", proc.pid)
        remember(settings, "ui", gone.pid)
        gone.wait(5)  # long gone: not reported, not signalled
        assert running(settings) == {"api": proc.pid}
        assert stop_all(settings, timeout_s=10) == {"api": proc.pid}
        proc.wait(5)
        assert not psutil.pid_exists(proc.pid)  # stopped (and reaped by stop_all)
        assert running(settings) == {} and not list((tmp_path / "pids").glob("*.pid"))
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_demo_api_process_starts_answers_and_stops(tmp_path: Path) -> None:
    """``reelstream api`` as the demo leaves it running: it answers /health (503 here: no
    broker, Redis or PostgreSQL behind it), then stops with its process group."""
    import httpx

    from reelstream.background import api_process
    from reelstream.processes import free_port

    settings = Settings(
        _env_file=None, state_dir=tmp_path, api_port=free_port(),
        kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        postgres_dsn=f"postgresql://reelstream@127.0.0.1:{free_port()}/reelstream",
    )
    api = api_process(settings, tmp_path / "api.log")
    try:
        health = httpx.get(f"http://127.0.0.1:{settings.api_port}/health", timeout=10)
        assert health.status_code == 503 and health.json()["services"]["kafka"] == "down"
    finally:
        api.stop(timeout_s=10)
    assert api.returncode is not None and not psutil.pid_exists(api.pid)
