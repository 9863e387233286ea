"""``reelstream bench retrain``: the nightly DAG's wall time and the batch model's scaling.

(a) **DAG**: ml-latest-small is loaded into a scratch schema of the configured PostgreSQL, then
    the real ``nightly_retrain`` DAG runs in-process (``dag.test``) on a scratch Airflow home
    (SQLite) against a scratch ``sqlite:///`` MLflow store. Reported: the DAG run's wall time
    (target ≤ 60 s) and its tasks, beside the one-off Airflow start-up (import + metadata DB).
(b) **Training at scale**: a generated MovieLens-25M-shaped set (162,541 users × 59,047 movies,
    long-tailed activity and popularity, half-star ratings from a low-rank model) is split
    and trained on in a child process with the production ``params.yaml``; its peak resident
    memory (VmHWM, reset after generation) is read from ``/proc``. Smaller runs
    (``ratings < 25M``) scale users and movies in proportion, measure two sizes and
    extrapolate linearly to 25M (ALS sweeps are linear in the ratings for a fixed shape).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "ML25M",
    "DagBench",
    "TrainBench",
    "movielens_shaped",
    "bench_dag",
    "bench_train",
    "extrapolate",
]

#: Shape of MovieLens 25M.
ML25M = {"ratings": 25_000_095, "users": 162_541, "movies": 59_047}


# --- (a) the whole DAG -------------------------------------------------------------------------
@dataclass
class DagBench:
    n_ratings: int
    load_s: float  # inserting the ratings into PostgreSQL (not part of the DAG)
    airflow_setup_s: float  # import Airflow + create the SQLite metadata DB (once per machine)
    parse_s: float  # DagBag of airflow/dags
    dag_s: float  # dag.test(): snapshot → retrain → announce
    state: str
    tasks: dict[str, float] = field(default_factory=dict)
    outcome: dict = field(default_factory=dict)


def _insert(dsn: str, ratings: pd.DataFrame, chunk: int = 50_000) -> int:
    from reelstream.replay import events_in_time_order
    from reelstream.store import EventStore

    events = list(events_in_time_order(ratings))
    with EventStore(dsn) as store:
        return sum(len(store.insert_ratings(events[i:i + chunk]))
                   for i in range(0, len(events), chunk))


def bench_dag(
    settings, ratings: pd.DataFrame, work_dir: Path | None = None  # noqa: ANN001 - Settings
) -> DagBench:
    """Run the DAG once on ``ratings`` (MovieLens frame) in a scratch corner of ``settings``."""
    from benchmarks.scratch import scratch_settings
    from reelstream.training.local_airflow import airflow_env, init_metadata_db, load_dag, run_dag

    work = Path(work_dir or tempfile.mkdtemp(prefix="reelstream-bench-retrain-"))
    saved = dict(os.environ)
    try:
        with scratch_settings(settings, "retrain") as scratch:
            scratch = scratch.model_copy(update={
                "mlflow_tracking_uri": f"sqlite:///{work / 'mlflow.db'}",
                "mlflow_experiment": "bench-retrain",
                "state_dir": work / "state",
            })
            started = time.perf_counter()
            n = _insert(scratch.postgres_dsn, ratings)
            load_s = time.perf_counter() - started

            os.environ.update(scratch.to_env())
            os.environ.update(airflow_env(work / "airflow"))
            started = time.perf_counter()
            init_metadata_db()
            setup_s = time.perf_counter() - started
            started = time.perf_counter()
            dag = load_dag()
            parse_s = time.perf_counter() - started

            started = time.perf_counter()
            run = run_dag(datetime.now(UTC).replace(microsecond=0), retries=0, dag=dag)
            dag_s = time.perf_counter() - started
            tasks = {}
            for ti in run.get_task_instances():
                if ti.start_date and ti.end_date:
                    tasks[ti.task_id] = (ti.end_date - ti.start_date).total_seconds()
            outcome = _retrain_outcome(scratch)
            return DagBench(n, load_s, setup_s, parse_s, dag_s, str(run.state), tasks, outcome)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _retrain_outcome(settings) -> dict:  # noqa: ANN001
    from reelstream.training.registry import list_versions

    versions = list_versions(settings)
    return versions[0] if versions else {}


# --- (b) training at scale ---------------------------------------------------------------------
def movielens_shaped(n_ratings: int, seed: int = 0) -> pd.DataFrame:
    """``n_ratings`` MovieLens-25M-shaped ratings (users and movies scaled in proportion).

    Activity per user is log-normal with MovieLens's floor of 20 ratings; movie popularity is
    Zipf-like (a few blockbusters, a long tail); ratings come from biases + a 4-factor model
    plus noise, rounded to half stars; each user's ratings are spread over time. Duplicate
    (user, movie) pairs are dropped and more drawn until there are ``n_ratings`` (on very
    small sets, where heavy users saturate the catalogue, a few percent fewer).
    """
    rng = np.random.default_rng(seed)
    scale = n_ratings / ML25M["ratings"]
    n_users = max(int(ML25M["users"] * scale), 100)
    n_movies = max(int(ML25M["movies"] * scale), 2000)  # small sets: keep density sane

    activity = rng.lognormal(0.0, 1.1, n_users)
    popularity = np.sort(rng.lognormal(0.0, 2.0, n_movies))[::-1]  # blockbusters .. long tail
    cdf = np.cumsum(popularity / popularity.sum())

    def draw(total: int) -> tuple[np.ndarray, np.ndarray]:
        counts = 20 + np.floor(activity / activity.sum() * max(total - 20 * n_users, 0))
        counts = np.minimum(counts.astype(np.int64), n_movies // 2)
        users = np.repeat(np.arange(n_users, dtype=np.int64), counts)
        movies = np.minimum(np.searchsorted(cdf, rng.random(users.size)), n_movies - 1)
        key = np.unique(users * n_movies + movies)  # sorted by user then movie, no duplicates
        return key // n_movies, key % n_movies

    total = n_ratings
    for _ in range(4):  # heavy users draw popular movies twice: draw more until enough
        users, movies = draw(total)
        if users.size >= n_ratings:
            break
        total = int(total * n_ratings / users.size * 1.02)
    if users.size > n_ratings:
        keep = np.sort(rng.choice(users.size, n_ratings, replace=False))
        users, movies = users[keep], movies[keep]

    k = 4
    p = rng.normal(0, 0.45, (n_users, k)).astype(np.float32)
    q = rng.normal(0, 0.45, (n_movies, k)).astype(np.float32)
    b_u = rng.normal(0, 0.35, n_users).astype(np.float32)
    # popular movies are rated a little higher, as in MovieLens
    b_i = (rng.normal(0, 0.4, n_movies) + 0.05 * np.log(popularity)).astype(np.float32)
    ratings = np.empty(users.size, dtype=np.float32)
    step = 2_000_000
    for start in range(0, users.size, step):
        u, m = users[start:start + step], movies[start:start + step]
        raw = 3.5 + b_u[u] + b_i[m] + np.einsum("nk,nk->n", p[u], q[m])
        raw += rng.normal(0, 0.75, u.size).astype(np.float32)
        ratings[start:start + step] = np.clip(np.round(raw * 2) / 2, 0.5, 5.0)

    first = np.searchsorted(users, np.arange(n_users))
    position = np.arange(users.size) - first[users]
    start_at = rng.integers(820_000_000, 1_560_000_000, n_users)  # 1995 .. 2019
    gap = rng.exponential(86_400 * 3, n_users)
    # each user's movies in a random order in time (rows are sorted by movie within a user)
    shuffle = np.argsort(users * 2.0**20 + rng.random(users.size) * 2.0**19, kind="stable")
    seconds = np.empty(users.size, dtype=np.int64)
    seconds[shuffle] = start_at[users] + (position * gap[users]).astype(np.int64)
    return pd.DataFrame({
        "user_id": (users + 1).astype(np.int32),
        "movie_id": (movies + 1).astype(np.int32),
        "rating": ratings,
        "rated_at": pd.to_datetime(seconds, unit="s", utc=True),
    })


def _vm_hwm_mb() -> float:
    """Peak resident memory of this process (VmHWM), MB; ru_maxrss where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_hwm() -> bool:
    """Reset VmHWM to the current RSS (Linux ``clear_refs`` 5); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class TrainBench:
    n_ratings: int
    n_users: int
    n_movies: int
    generate_s: float
    split_s: float
    train_s: float
    data_mb: float  # RSS after generation (the ratings frame held in memory)
    peak_mb: float  # VmHWM during split + train (includes the data)
    peak_reset: bool  # False: the peak also covers generation
    evaluate_s: float | None = None

    @property
    def pipeline_s(self) -> float:
        return self.split_s + self.train_s


def _train_child(n_ratings: int, seed: int, params_path: str, evaluate: bool) -> dict:
    """Generate, split and train in this (child) process; return the figures."""
    from reelstream.models.batch_als import train_batch_model
    from reelstream.training.data import load_params
    from reelstream.training.split import temporal_split

    params = load_params(params_path)
    started = time.perf_counter()
    ratings = movielens_shaped(n_ratings, seed)
    generate_s = time.perf_counter() - started
    data_mb = _current_rss_mb()
    reset = _reset_hwm()
    started = time.perf_counter()
    train, test = temporal_split(ratings, params.test_fraction)
    split_s = time.perf_counter() - started
    n_users, n_movies = int(ratings.user_id.nunique()), int(ratings.movie_id.nunique())
    n = len(ratings)
    del ratings
    started = time.perf_counter()
    model = train_batch_model(train, params)
    train_s = time.perf_counter() - started
    peak_mb = _vm_hwm_mb()
    evaluate_s = None
    if evaluate:
        from reelstream.evaluation.scoring import evaluate_model

        started = time.perf_counter()
        evaluate_model(model, train, test, k=params.k, threshold=params.relevance_threshold)
        evaluate_s = time.perf_counter() - started
    return asdict(TrainBench(n, n_users, n_movies, generate_s, split_s, train_s, data_mb,
                             peak_mb, reset, evaluate_s))


def _current_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def bench_train(n_ratings: int, seed: int = 0, params_path: Path | str = "params.yaml",
                evaluate: bool = False, timeout_s: float = 3600) -> TrainBench:
    """:func:`_train_child` in a fresh interpreter (its own peak memory), parsed back."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.retrain", str(n_ratings), str(seed),
         str(Path(params_path).resolve()), "1" if evaluate else "0"],
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return TrainBench(**json.loads(line))
    raise RuntimeError(f"training benchmark failed (exit {out.returncode}):\n"
                       f"{out.stdout[-2000:]}\n{out.stderr[-3000:]}")


def extrapolate(small: TrainBench, large: TrainBench, target: int,
                attribute: str) -> float:
    """Linear fit through two runs, evaluated at ``target`` ratings."""
    y0, y1 = getattr(small, attribute), getattr(large, attribute)
    slope = (y1 - y0) / (large.n_ratings - small.n_ratings)
    return y1 + slope * (target - large.n_ratings)


if __name__ == "__main__":  # the child of bench_train
    n, seed, params_file, evaluate_flag = sys.argv[1:5]
    print(json.dumps(_train_child(int(n), int(seed), params_file, evaluate_flag == "1")))
