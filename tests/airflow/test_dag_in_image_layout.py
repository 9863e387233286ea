"""The nightly DAG run by ``airflow dags test`` as compose runs it: the Airflow image's layout.

The folders of the ``airflow`` image (tests/image_layout reads them from the Dockerfile, with
compose's volumes) are rebuilt under a scratch root with their owners; the DAG folder is a
read-only copy of ``airflow/dags`` where compose mounts it; ``airflow db migrate`` and
``airflow dags test`` run in the image's working folder, as the image's non-root user
(uid 50000, through ``setpriv``), with the scheduler service's compose environment. Only what
cannot exist here is replaced: every absolute path is moved under the scratch root, the
service URLs point at the test stack (its PostgreSQL also holds Airflow's metadata, in a schema
rather than compose's database of its own; MLflow runs with compose's arguments), and the secrets are generated.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from reelstream.movielens import load_ratings
from reelstream.params import PACKAGED_PARAMS
from reelstream.replay import events_in_time_order
from reelstream.store import EventStore
from tests.conftest import free_ports
from tests.image_layout import compose_services, service_layout

pytestmark = [
    pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(900),
    pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0,
                       reason="running as the image's user needs root and setpriv (util-linux)"),
]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
N = 3000
#: The settings that name the services of the stack (and this test's corner of it).
STACK_KEYS = ("POSTGRES_DSN", "REDIS_URL", "REDIS_PREFIX", "KAFKA_BOOTSTRAP_SERVERS",
              "MLFLOW_TRACKING_URI", "REGISTERED_MODEL_NAME", "MLFLOW_EXPERIMENT")


@pytest.fixture
def image_root() -> Iterator[Path]:
    """A scratch '/' that the image's user can traverse (pytest's tmp_path is root-only)."""
    root = Path(tempfile.mkdtemp(prefix="reelstream-airflow-image-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def compose_mlflow(image_root: Path, tmp_path: Path) -> Iterator[str]:
    """MLflow started with compose's arguments (artifacts proxied over HTTP, so clients never
    write the server's folder), on a free port, its artifact folder under the scratch root."""
    command = [str(c) for c in compose_services()["mlflow"]["command"]]
    (port,) = free_ports(1)
    for option, value in (("--host", "127.0.0.1"), ("--port", str(port)), ("--workers", "1")):
        command[command.index(option) + 1] = value
    at = command.index("--artifacts-destination") + 1
    artifacts = image_root / command[at].lstrip("/")
    artifacts.mkdir(parents=True, exist_ok=True)
    command[at] = str(artifacts)
    command += ["--backend-store-uri", f"sqlite:///{tmp_path}/mlflow.db"]
    log = (tmp_path / "mlflow.log").open("w")
    server = subprocess.Popen([str(BIN / "mlflow"), *command], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while not _answers(f"{url}/health"):
            assert server.poll() is None and time.monotonic() < deadline, (
                (tmp_path / "mlflow.log").read_text()[-3000:])
            time.sleep(1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def airflow_database(stack) -> Iterator[dict[str, str]]:
    """Airflow's metadata on the stack's PostgreSQL, in a schema of its own (compose gives it
    a database, ``airflow``, on its server: a schema is the same to Airflow)."""
    schema = f"airflow_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack.postgres_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    parts = conninfo_to_dict(stack.postgres_dsn)
    yield {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":
            f"postgresql+psycopg2://{parts['user']}@{parts['host']}:{parts['port']}/"
            f"{parts['dbname']}?options=-csearch_path%3D{schema}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_SCHEMA": schema,
    }
    try:  # Airflow's processes have exited; the whole stack goes with the session anyway
        with psycopg.connect(stack.postgres_dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    except psycopg.Error:
        pass


def rebuild(layout, root: Path) -> None:
    """The image's folders under ``root``, owned as in the image; the DAGs mounted read-only."""
    users = layout.image.users
    for path, owner in sorted(layout.dirs.items()):
        if path in ("/", "/tmp"):
            continue
        target = root / path.lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(0o755)
        uid = users[owner][0] if owner in users else 0
        os.chown(target, uid, uid)
    dags = root / "opt/airflow/dags"
    for file in (REPO / "airflow" / "dags").glob("*.py"):
        shutil.copy(file, dags / file.name)
        (dags / file.name).chmod(0o444)
    os.chown(dags, 0, 0)
    dags.chmod(0o555)


def container_env(layout, root: Path, settings, metadata_db: dict[str, str]) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {}
    for key, value in layout.env.items():
        if value.startswith("/") and key != "PATH":
            value = str(root / value.lstrip("/"))  # the image's path, under the scratch root
        env[key] = value
    stack = settings.to_env()
    env.update({f"REELSTREAM_{k}": stack[f"REELSTREAM_{k}"] for k in STACK_KEYS})
    env.update({
        "PATH": f"{BIN}:/usr/bin:/bin",  # the image: PATH=/opt/venv/bin:$PATH
        "HOME": str(root / layout.image.home.lstrip("/")),
        # the image has the user in /etc/passwd; this machine must not be changed for a test,
        # so its name comes the other way getpass.getuser() looks (Airflow wants a name)
        "USER": layout.image.user, "LOGNAME": layout.image.user,
        **metadata_db,
        "REELSTREAM_API_KEY": uuid.uuid4().hex,  # .env's value (the example's is refused)
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__API__SECRET_KEY": uuid.uuid4().hex,
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": str(REPO / "src"),  # this checkout's library (the image installs it)
    })
    return env


def test_nightly_dag_runs_as_compose_runs_it(compose_mlflow, isolated, airflow_database,
                                            movielens_small, image_root):
    from mlflow import MlflowClient

    svc = compose_services()["airflow-scheduler"]
    layout = service_layout("airflow-scheduler", svc)
    assert layout.image.user != "root" and layout.image.uid != 0
    rebuild(layout, image_root)
    settings = isolated.model_copy(update={"mlflow_experiment": f"image-{uuid.uuid4().hex[:6]}",
                                           "mlflow_tracking_uri": compose_mlflow})
    env = container_env(layout, image_root, settings, airflow_database)
    events = list(events_in_time_order(load_ratings(movielens_small), limit=N))
    with EventStore(settings.postgres_dsn) as store:
        assert len(store.insert_ratings(events)) == N

    uid = layout.image.uid
    as_user = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
    workdir = image_root / layout.image.workdir.lstrip("/")

    def airflow(*args: str) -> subprocess.CompletedProcess[str]:
        log = image_root / f"airflow-{args[0]}-{args[1]}.log"
        with log.open("w") as out:
            try:
                done = subprocess.run([*as_user, str(BIN / "airflow"), *args], cwd=workdir,
                                      env=env, stdout=out, stderr=subprocess.STDOUT, timeout=int(os.environ.get('REELSTREAM_TEST_AIRFLOW_TIMEOUT_S', '420')))
            except subprocess.TimeoutExpired:
                pytest.fail(f"airflow {' '.join(args)} timed out:\n{log.read_text()[-6000:]}")
        return subprocess.CompletedProcess(done.args, done.returncode, log.read_text(), "")

    migrated = airflow("db", "migrate")
    assert migrated.returncode == 0, migrated.stdout[-3000:]
    ran = airflow("dags", "test", "nightly_retrain", "2024-06-01")
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output[-4000:]

    # the snapshot went to the state folder compose gives Airflow, written by its user
    state = Path(env["REELSTREAM_STATE_DIR"])
    snapshots = list((state / "airflow" / "snapshots").glob("*.parquet"))
    assert len(snapshots) == 1, output[-4000:]
    assert snapshots[0].stat().st_uid == uid
    # trained with the packaged parameters, registered and promoted
    assert f"parameters {PACKAGED_PARAMS.name}" in output or str(PACKAGED_PARAMS) in output
    client = MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_tracking_uri)
    name = settings.registered_model_name
    versions = client.search_model_versions(f"name='{name}'")
    assert [str(v.version) for v in versions] == ["1"], output[-4000:]
    run = client.get_run(versions[0].run_id)
    assert run.data.params["ranker"] == "ease_seq"  # params.yaml's, not the class default
    assert int(run.data.params["snapshot_n_ratings"]) == N
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
