"""Every path a compose service's code reads or writes exists in its image and is writable
by the user it runs as (Dockerfile + docker-compose.yml, no Docker engine: tests/image_layout).

Paths come from what the code does with the service's environment: reelstream processes write
under ``state_dir`` (Faust's tables, the nightly DAG's snapshots, pid files) and ``data_dir``
(downloads), resolved against the container's working folder as the settings do; Airflow
writes ``AIRFLOW_HOME``, its logs and the simple auth manager's password file and reads the
DAG folder; MLflow writes its artifact folder; every process may write its user's HOME.
"""

from __future__ import annotations

from typing import Any

import pytest

from reelstream.settings import Settings
from tests.image_layout import ServiceLayout, compose_services, service_layout


def _project_services() -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose_services().items()
            if (svc.get("build") or {}).get("context") in (".", "./")}


def runs_reelstream_code(name: str, svc: dict[str, Any]) -> bool:
    """The reelstream script (runtime image) or Airflow, whose DAG tasks run reelstream code."""
    target = (svc.get("build") or {}).get("target", "runtime")
    return target == "airflow" or "entrypoint" not in svc


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def paths_used(layout: ServiceLayout, svc: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """``(reads, writes)``: path -> why, for one service."""
    env = layout.env
    reads: dict[str, str] = {}
    writes: dict[str, str] = {"HOME": layout.image.home}
    if runs_reelstream_code(layout.name, svc):
        for name in ("state_dir", "data_dir"):
            default = str(Settings.model_fields[name].default)
            writes[f"REELSTREAM_{name.upper()}"] = env.get(f"REELSTREAM_{name.upper()}", default)
        if env.get("REELSTREAM_PARAMS"):
            reads["REELSTREAM_PARAMS (its folder)"] = env["REELSTREAM_PARAMS"].rsplit("/", 1)[0]
    if "AIRFLOW_HOME" in env:
        home = env["AIRFLOW_HOME"]
        writes["AIRFLOW_HOME"] = home
        writes["Airflow logs"] = env.get("AIRFLOW__LOGGING__BASE_LOG_FOLDER", f"{home}/logs")
        reads["DAGs folder"] = env.get("AIRFLOW__CORE__DAGS_FOLDER", f"{home}/dags")
        passwords = env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
        if passwords:
            writes["simple auth manager passwords (folder)"] = passwords.rsplit("/", 1)[0]
    command = [str(c) for c in svc.get("command") or []]
    artifacts = _option(command, "--artifacts-destination")
    if artifacts:
        writes["MLflow artifacts"] = artifacts
    return reads, writes


SERVICES = sorted(_project_services())


def test_the_model_sees_the_project_services():
    assert {"worker", "api", "ui", "mlflow", "airflow-scheduler"} <= set(SERVICES)


@pytest.mark.parametrize("name", SERVICES)
def test_every_path_the_service_uses_exists_and_is_writable_by_its_user(name):
    svc = _project_services()[name]
    layout = service_layout(name, svc)
    assert layout.image.user != "root", f"{name} runs as root"
    reads, writes = paths_used(layout, svc)
    problems = [f"{why}: {path} ({layout.absolute(path)}) is not in the image"
                for why, path in reads.items() if not layout.exists(path)]
    problems += [f"{why}: {path} ({layout.absolute(path)}) is not writable by "
                 f"{layout.image.user} (uid {layout.image.uid})"
                 for why, path in writes.items() if not layout.writable(path)]
    assert not problems, f"{name}: " + "; ".join(problems)


def test_the_model_catches_a_folder_the_image_lacks_or_its_user_cannot_write():
    svc = {**_project_services()["airflow-scheduler"]}
    svc["environment"] = {**svc["environment"], "REELSTREAM_STATE_DIR": "/var/lib/elsewhere"}
    layout = service_layout("airflow-scheduler", svc)
    assert not layout.writable("/var/lib/elsewhere")
    assert not layout.writable("/opt/airflow/dags/x")  # mounted read-only
    assert layout.writable("/opt/airflow/logs") and layout.writable("/tmp/x")
    worker = service_layout("worker", _project_services()["worker"])
    assert not worker.writable("/opt/airflow") and not worker.writable("/opt/venv")
    assert worker.absolute(".reelstream") == "/var/lib/reelstream/.reelstream"


def _host_address(port: str) -> str:
    parts = port.split(":")
    return parts[0] if len(parts) == 3 else "0.0.0.0"  # "host:container": every interface


def test_every_published_port_listens_on_loopback_unless_told():
    for name, svc in compose_services().items():
        for port in svc.get("ports") or []:
            assert _host_address(str(port)) == "127.0.0.1", f"{name}: {port}"


def test_compose_api_asks_for_a_key_on_reads_and_workers_open_metrics_only_in_network():
    services = compose_services()
    assert services["api"]["environment"]["REELSTREAM_API_READS_NEED_KEY"] == "true"
    assert services["worker"]["environment"]["REELSTREAM_WORKER_METRICS_HOST"] == "0.0.0.0"
    assert not services["worker"].get("ports")
    assert Settings(_env_file=None).worker_metrics_host == "127.0.0.1"
    assert not Settings(_env_file=None).api_reads_need_key
