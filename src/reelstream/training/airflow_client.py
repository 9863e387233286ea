"""Ask a running Airflow 3 to retrain now, over its REST API (v2), and follow the run.

The run is created as ``airflow dags trigger`` creates it: no logical date, hence no data
interval, so the DAG takes everything stored up to the moment of triggering (or the conf's
``cutoff``). Auth is a
JWT from ``/auth/token``; with the simple auth manager (``reelstream airflow standalone``) the
password is read from the file it generates in ``AIRFLOW_HOME``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

__all__ = [
    "TERMINAL",
    "AirflowError",
    "AirflowClient",
    "generated_password",
]

#: DAG run states after which nothing changes any more.
TERMINAL = frozenset({"success", "failed"})
PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"


class AirflowError(RuntimeError):
    """A clear, user-facing reason why Airflow could not be asked or answered badly."""


class AirflowBusy(AirflowError):
    """Airflow answered 5xx: with its SQLite metadata database a write can lose a lock race
    with the scheduler ("Database error"); the same request a moment later goes through."""


def generated_password(airflow_home: Path, username: str) -> str:
    """The simple auth manager's generated password of ``username`` in ``airflow_home``."""
    path = Path(airflow_home) / PASSWORD_FILE
    try:
        passwords = json.loads(path.read_text())
    except FileNotFoundError:
        raise AirflowError(
            f"no password given and {path} does not exist: start Airflow with "
            "`reelstream airflow standalone` or set REELSTREAM_AIRFLOW_PASSWORD"
        ) from None
    if username not in passwords:
        raise AirflowError(f"user {username!r} is not in {path}")
    return str(passwords[username])


class AirflowClient:
    """The handful of REST calls a retrain needs (token, unpause, trigger, poll, XCom).

    Call :meth:`login` first; every later call carries its token.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self._username, self._password = username, password
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)

    def __enter__(self) -> AirflowClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @retry(
        retry=retry_if_exception_type(AirflowBusy),
        stop=stop_after_attempt(5),
        wait=wait_exponential(multiplier=0.5, max=4),
        reraise=True,
    )
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise AirflowError(
                f"no Airflow answering at {self.base_url} ({exc.__class__.__name__}: {exc}); "
                "start one with `reelstream airflow standalone --port N` and pass "
                "--airflow-url http://127.0.0.1:N"
            ) from None
        if response.status_code >= 400:
            detail = response.text[:500]
            error = AirflowBusy if response.status_code >= 500 else AirflowError
            raise error(f"{method} {path}: HTTP {response.status_code}: {detail}")
        return response.json() if response.content else None

    def login(self) -> None:
        """Exchange the credentials for a JWT used by every later call."""
        try:
            token = self._call("POST", "/auth/token",
                               json={"username": self._username, "password": self._password})
        except AirflowError as exc:
            if "HTTP 401" in str(exc) or "HTTP 403" in str(exc):
                raise AirflowError(f"Airflow at {self.base_url} refused user "
                                   f"{self._username!r}: wrong password") from None
            raise
        self._http.headers["Authorization"] = f"Bearer {token['access_token']}"

    @property
    def token(self) -> str | None:
        """The JWT from :meth:`login` (the UI takes it as its ``_token`` cookie)."""
        header = self._http.headers.get("Authorization")
        return header.removeprefix("Bearer ") if header else None

    def dag(self, dag_id: str) -> dict[str, Any]:
        try:
            return self._call("GET", f"/api/v2/dags/{dag_id}")
        except AirflowError as exc:
            if "HTTP 404" in str(exc):
                raise AirflowError(f"Airflow at {self.base_url} has no DAG {dag_id!r} (yet): "
                                   "is its DAG folder airflow/dags, and parsed?") from None
            raise

    def unpause(self, dag_id: str) -> None:
        self._call("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(
        self, dag_id: str, conf: dict[str, Any] | None = None, logical_date: str | None = None
    ) -> dict[str, Any]:
        """A manual run; without a logical date (``airflow dags trigger``) it has no data
        interval. The UI's Trigger dialog sends the current time as the logical date."""
        return self._call("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                          json={"logical_date": logical_date, "conf": conf or {}})

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns")["dag_runs"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        answer = self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return {ti["task_id"]: ti["state"] for ti in answer["task_instances"]}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        answer = self._call(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
            f"/xcomEntries/{key}",
        )
        value = answer["value"]
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def follow(
        self,
        dag_id: str,
        run_id: str,
        on_task_state: Callable[[str, str | None], None] = lambda task, state: None,
        timeout_s: float = 1800.0,
        poll_s: float = 2.0,
    ) -> str:
        """Poll the run until it ends; report each task's state changes; return the run state."""
        seen: dict[str, str | None] = {}
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.dag_run(dag_id, run_id)["state"]
            for task, task_state in self.task_states(dag_id, run_id).items():
                if seen.get(task, "unseen") != task_state:
                    seen[task] = task_state
                    on_task_state(task, task_state)
            if state in TERMINAL:
                return str(state)
            if time.monotonic() > deadline:
                raise AirflowError(f"run {run_id} still {state} after {timeout_s:.0f} s")
            time.sleep(poll_s)
