"""The README's "Nightly retraining on a local Airflow", walked through on a real Airflow.

``reelstream airflow standalone`` (scheduler, DAG processor, triggerer, API server) is started
on a free port from a shell without the virtualenv on ``PATH``, against the embedded stack
(PostgreSQL, Redis, the MLflow server). Then, as a user would:

1. the DAG is unpaused through the REST API (the UI's toggle): with ``catchup=False`` the
   scheduler at once creates the run of the latest interval — the scheduled run;
2. ``reelstream retrain --trigger`` asks for a run now: ``POST .../dagRuns`` without a logical
   date (as ``airflow dags trigger`` does: no data interval), and follows it to the end;
3. the UI's Trigger dialog (it sends the current time as logical date), with no new ratings:
   the run succeeds and registers nothing.

Both must succeed end to end: snapshot (scheduled: ratings before its data interval end;
manual: everything stored), an MLflow version each, ``champion`` moved when better, and every
promotion announced to the workers on Redis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
import redis
from typer.testing import CliRunner

from reelstream.cli import app
from reelstream.movielens import load_ratings
from reelstream.replay import events_in_time_order
from reelstream.settings import get_settings
from reelstream.store import EventStore
from reelstream.streaming.promotion import promotions_channel
from reelstream.training.airflow_client import AirflowClient, generated_password
from reelstream.training.local_airflow import DAG_ID
from reelstream.processes import free_ports

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(900)]

N = 3000
BIN = Path(sys.executable).parent


def wait_until(predicate, timeout_s: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}\n{tail}")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def stored(mlflow_stack, isolated, movielens_small, tmp_path, monkeypatch):
    """The isolated stack with N ratings: the first two thirds before today 00:00 UTC (the
    scheduled run's cut-off), the rest after it (only a run triggered now sees them)."""
    settings = isolated.model_copy(update={
        "state_dir": tmp_path / "state",
        "mlflow_experiment": f"airflow-{tmp_path.name}",
        "registered_model_name": f"airflow-{tmp_path.name}",
    })
    source = list(events_in_time_order(load_ratings(movielens_small), limit=N))
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    split = N * 2 // 3
    shift = midnight - timedelta(seconds=1) - source[split - 1].timestamp
    step = min((now - midnight) / (2 * (N - split)), timedelta(seconds=1))
    events = [e.model_copy(update={"timestamp": e.timestamp + shift}) for e in source[:split]]
    events += [e.model_copy(update={"timestamp": midnight + step * i})
               for i, e in enumerate(source[split:])]
    with EventStore(settings.postgres_dsn) as store:
        assert len(store.insert_ratings(events)) == N
    for key, value in settings.to_env().items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield settings, events
    get_settings.cache_clear()


@pytest.fixture
def standalone(stored, tmp_path):
    """``reelstream airflow standalone --port P`` from a shell without the venv on PATH."""
    settings, _ = stored
    port = free_ports(1)[0]
    env = {**os.environ, **settings.to_env(), "PATH": "/usr/bin:/bin"}
    env = {k: v for k, v in env.items() if not k.startswith("AIRFLOW")}  # only what we set
    log = tmp_path / "standalone.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "reelstream"), "airflow", "standalone", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is not None or answers(f"{url}/api/v2/monitor/health"),
                   300, "the Airflow API server", log)
        assert process.poll() is None, log.read_text(errors="replace")[-4000:]
        print(f"standalone answering after {time.monotonic() - started:.1f} s")
        yield url, Path(settings.state_dir).resolve() / "airflow", log
    finally:
        _stop(process)
        text = log.read_text(errors="replace")
        assert "No such file or directory: 'airflow'" not in text


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the whole process group (standalone and every component), then SIGKILL."""
    for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                process.wait(5)
                return
            process.poll()
            time.sleep(0.5)


def test_scheduled_and_ui_triggered_runs_retrain_end_to_end(stored, standalone):
    settings, events = stored
    url, home, log = standalone
    started = time.monotonic()
    listener = redis.Redis.from_url(settings.redis_url).pubsub()
    listener.subscribe(promotions_channel(settings))

    client = AirflowClient(url, "admin", generated_password(home, "admin"))
    client.login()
    wait_until(lambda: answers_dag(client), 180, "the DAG processor to parse the DAG", log)
    assert client.dag(DAG_ID)["is_paused"]  # new DAGs wait to be switched on

    # 1. The UI's toggle: unpaused, the scheduler creates the latest interval's run itself.
    client.unpause(DAG_ID)
    scheduled = wait_until(lambda: next((r for r in client.dag_runs(DAG_ID)
                                         if r["run_type"] == "scheduled"), None),
                           120, "the scheduled run", log)

    # 2. The Trigger button, from the command line: a run now, followed to the end.
    result = CliRunner().invoke(app, ["retrain", "--trigger", "--airflow-url", url,
                                      "--timeout", "600"])
    assert result.exit_code == 0, result.output + log.read_text(errors="replace")[-4000:]
    print(result.output)
    output = " ".join(result.output.split())
    manual = next(r for r in client.dag_runs(DAG_ID) if r["run_type"] == "manual")
    assert manual["logical_date"] is None and manual["data_interval_end"] is None
    assert manual["dag_run_id"] in output
    for task in ("snapshot", "retrain", "announce"):
        assert f"{task} success" in output

    scheduled_state = client.follow(DAG_ID, scheduled["dag_run_id"], timeout_s=300)
    print(f"both runs done {time.monotonic() - started:.1f} s after the API answered")
    assert scheduled_state == "success"

    # What each run trained on, and what it registered.
    outcomes = {run["run_type"]: client.xcom(DAG_ID, run["dag_run_id"], "retrain")
                for run in (scheduled, manual)}
    interval_end = datetime.fromisoformat(scheduled["data_interval_end"].replace("Z", "+00:00"))
    assert outcomes["scheduled"]["cutoff"] == interval_end.isoformat()
    assert outcomes["scheduled"]["n_ratings"] == sum(e.timestamp < interval_end for e in events)
    assert outcomes["manual"]["n_ratings"] == N  # everything stored when triggered
    assert f"registered MLflow version {outcomes['manual']['version']}" in output
    assert {o["version"] for o in outcomes.values()} == {"1", "2"}
    assert not any(o["reused"] for o in outcomes.values())

    from reelstream.training.registry import champion_version, list_versions

    versions = {v["version"]: v for v in list_versions(settings)}
    assert set(versions) == {"1", "2"}
    first, second = (sorted(outcomes.values(), key=lambda o: o["version"]))
    assert first["promoted"]  # the first model always becomes champion
    better = float(versions["2"]["ndcg_at_10"]) > float(versions["1"]["ndcg_at_10"])
    assert second["promoted"] is better
    assert champion_version(settings) == ("2" if better else "1")

    # Workers were told of every promotion, in order.
    told = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(told) < 1 + better:
        message = listener.get_message(ignore_subscribe_messages=True, timeout=1)
        if message:
            told.append(orjson.loads(message["data"])["champion"])
    listener.close()
    assert told == (["1", "2"] if better else ["1"])

    # 3. The UI's Trigger dialog (what Airflow 3.3's UI posts: the current time as logical
    #    date, the form's empty cut-off as null), with no new ratings since: the run succeeds
    #    and registers nothing, saying why.
    ui_now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    ui_run = client.trigger(DAG_ID, {"cutoff": None}, logical_date=ui_now)["dag_run_id"]
    assert client.follow(DAG_ID, ui_run, timeout_s=300) == "success"
    again = client.xcom(DAG_ID, ui_run, "retrain")
    assert again["reused"] and again["version"] == second["version"]
    assert "same ratings and parameters" in again["reason"]
    assert len(list_versions(settings)) == 2
    print(f"three runs done {time.monotonic() - started:.1f} s after the API answered")

    # The README's screenshot of the graph, when asked for (it needs Chromium; ~10 s).
    if os.environ.get("REELSTREAM_AIRFLOW_SCREENSHOT"):
        from tests.airflow.airflow_ui import screenshot_dag_graph

        text = screenshot_dag_graph(url, client.token, DAG_ID, manual["dag_run_id"],
                                    Path(os.environ["REELSTREAM_AIRFLOW_SCREENSHOT"]))
        assert all(task in text for task in ("snapshot", "retrain", "announce"))


def answers_dag(client: AirflowClient) -> bool:
    try:
        client.dag(DAG_ID)
    except Exception:  # noqa: BLE001 - not parsed yet
        return False
    return True
