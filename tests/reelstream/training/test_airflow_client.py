"""``reelstream retrain --trigger`` against a fake Airflow REST API (httpx MockTransport).

The real Airflow is exercised by ``tests/airflow/test_real_airflow.py``; this checks the
requests (a manual run has no logical date), the follow loop and the messages, in ms.
"""

from __future__ import annotations

import json
from functools import partial

import httpx
import pytest
from typer.testing import CliRunner

from reelstream.cli import app
from reelstream.settings import get_settings
from reelstream.training import airflow_client
from reelstream.training.airflow_client import AirflowClient, AirflowError

RUN = "manual__2026-12-01T12:00:00+00:00"
OUTCOME = {"version": "3", "promoted": True, "champion": "3", "reused": False,
           "reason": "ndcg_at_10 0.1100 > champion v2 0.1000", "n_ratings": 1234,
           "cutoff": "2026-12-01T12:00:00+00:00"}


class FakeAirflow:
    """Just enough of Airflow's /auth/token and /api/v2 for one triggered run."""

    def __init__(self, final: str = "success", paused: bool = True):
        self.requests: list[tuple[str, str, dict | None]] = []
        self.final, self.paused, self.polls = final, paused, 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))
        path, method = request.url.path, request.method
        if path == "/auth/token":
            ok = body == {"username": "admin", "password": "s3cret"}
            return httpx.Response(201 if ok else 401, json={"access_token": "jwt"} if ok else {})
        if request.headers.get("authorization") != "Bearer jwt":
            return httpx.Response(401, json={"detail": "Not authenticated"})
        if path == "/api/v2/dags/nightly_retrain" and method == "GET":
            return httpx.Response(200, json={"dag_id": "nightly_retrain",
                                             "is_paused": self.paused})
        if path == "/api/v2/dags/nightly_retrain" and method == "PATCH":
            self.paused = body["is_paused"]
            return httpx.Response(200, json={"is_paused": self.paused})
        if path == "/api/v2/dags/nightly_retrain/dagRuns" and method == "POST":
            return httpx.Response(200, json={"dag_run_id": RUN, "state": "queued"})
        if path == f"/api/v2/dags/nightly_retrain/dagRuns/{RUN}":
            self.polls += 1
            return httpx.Response(200, json={"state": "running" if self.polls < 3
                                             else self.final})
        if path.endswith("/taskInstances"):
            states = {1: ["running", None, None], 2: ["success", "running", None]}.get(
                self.polls, ["success", self.final, "success" if self.final == "success"
                             else "upstream_failed"])
            return httpx.Response(200, json={"task_instances": [
                {"task_id": t, "state": s}
                for t, s in zip(("snapshot", "retrain", "announce"), states, strict=True)]})
        if path.endswith("/taskInstances/retrain/xcomEntries/return_value"):
            return httpx.Response(200, json={"key": "return_value", "value": OUTCOME})
        return httpx.Response(404, json={"detail": "not found"})


@pytest.fixture
def fake(monkeypatch, tmp_path):
    airflow = FakeAirflow()
    monkeypatch.setattr(airflow_client, "AirflowClient",
                        partial(AirflowClient, transport=httpx.MockTransport(airflow)))
    monkeypatch.setattr("time.sleep", lambda s: None)
    monkeypatch.setenv("REELSTREAM_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("REELSTREAM_AIRFLOW_PASSWORD", raising=False)
    home = tmp_path / "airflow"
    home.mkdir()
    (home / "simple_auth_manager_passwords.json.generated").write_text('{"admin": "s3cret"}')
    get_settings.cache_clear()
    yield airflow
    get_settings.cache_clear()


def test_trigger_unpauses_triggers_without_logical_date_follows_and_prints_version(fake):
    result = CliRunner().invoke(app, ["retrain", "--trigger", "--cutoff", "2026-12-01"])
    assert result.exit_code == 0, result.output
    posted = [(m, p, b) for m, p, b in fake.requests if m in ("POST", "PATCH")]
    assert posted[0] == ("POST", "/auth/token", {"username": "admin", "password": "s3cret"})
    assert ("PATCH", "/api/v2/dags/nightly_retrain", {"is_paused": False}) in posted
    assert posted[-1] == ("POST", "/api/v2/dags/nightly_retrain/dagRuns",
                          {"logical_date": None, "conf": {"cutoff": "2026-12-01T00:00:00+00:00"}})
    out = " ".join(result.output.split())
    for line in ("snapshot running", "snapshot success", "retrain running", "retrain success",
                 "announce success"):
        assert line in out
    assert out.index("snapshot running") < out.index("retrain running")
    assert "registered MLflow version 3" in out and "promoted to champion" in out


def test_failed_run_is_a_non_zero_exit_naming_the_task(fake):
    fake.final = "failed"
    result = CliRunner().invoke(app, ["retrain", "--trigger"])
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "failed" in out and "retrain" in out and f"/dags/nightly_retrain/runs/{RUN}" in out


def test_wrong_password_and_no_airflow_are_clear_errors(fake):
    bad = CliRunner().invoke(app, ["retrain", "--trigger", "--airflow-password", "nope"])
    assert bad.exit_code == 1 and "wrong password" in bad.output
    with AirflowClient("http://127.0.0.1:9", "admin", "x") as client:  # nothing listens on 9
        with pytest.raises(AirflowError, match="no Airflow answering"):
            client.login()
    cutoff = CliRunner().invoke(app, ["retrain", "--trigger", "--cutoff", "soon"])
    assert cutoff.exit_code == 1 and "not an ISO 8601" in cutoff.output


def test_a_5xx_from_airflow_is_retried_and_a_4xx_is_not(monkeypatch):
    """Airflow's SQLite metadata database can lose a lock race with the scheduler (HTTP 500
    "Database error"); the request is sent again, while a refusal (4xx) is final."""
    calls: list[str] = []

    def airflow(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.endswith("/dagRuns") and len(calls) < 3:
            return httpx.Response(500, json={"detail": {"reason": "Database error"}})
        if request.url.path.endswith("/missing"):
            return httpx.Response(404, json={"detail": "no such DAG"})
        return httpx.Response(200, json={"dag_run_id": "manual__1"})

    monkeypatch.setattr(AirflowClient._call.retry, "sleep", lambda _s: None)  # type: ignore[attr-defined]
    transport = httpx.MockTransport(airflow)
    with AirflowClient("http://airflow", "admin", "pw", transport=transport) as client:
        assert client.trigger("nightly_retrain")["dag_run_id"] == "manual__1"
        assert len(calls) == 3
        with pytest.raises(AirflowError, match="has no DAG"):
            client.dag("missing")
        assert len(calls) == 4
