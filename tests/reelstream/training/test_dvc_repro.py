"""`dvc repro` end to end on ml-latest-small in a scratch copy of the pipeline files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
DATASET = Path(os.environ.get("REELSTREAM_MOVIELENS_PATH",
                              REPO.parent / "shared" / "movielens" / "ml-latest-small"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (DATASET / "ratings.csv").exists(), reason=f"no {DATASET}"),
    pytest.mark.skipif(shutil.which("dvc", path=str(Path(sys.executable).parent)) is None,
                       reason="dvc not installed"),
]


def _git_ignored(cwd: Path, path: str) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", path], cwd=cwd).returncode == 0


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_dvc_repro_writes_metrics(tmp_path):
    """The repository's own DVC setup (git-tracked dvc.lock, SCM on) in a scratch git repo."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    for name in ("dvc.yaml", ".gitignore", ".dvc/config", ".dvc/.gitignore"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["batch"]["dataset"] = str(DATASET)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    shutil.copytree(REPO / "src" / "reelstream", tmp_path / "src" / "reelstream",
                    ignore=shutil.ignore_patterns("__pycache__"))
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    env.pop("REELSTREAM_MOVIELENS_PATH", None)
    dvc = [str(Path(bin_dir) / "dvc")]
    run = subprocess.run(dvc + ["repro"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["snapshot"]["snapshot_n_ratings"] == 100_836
    assert metrics["model"]["rmse"] <= 0.87
    assert metrics["model"]["ndcg_at_10"] >= 0.10
    assert metrics["popularity"]["ndcg_at_10"] == pytest.approx(0.0737, abs=0.002)
    assert (tmp_path / "data" / "models" / "batch" / "factors.npz").exists()
    assert (tmp_path / ".dvc" / "cache").is_dir()  # outputs went to the local cache
    # dvc.lock is for git; data, models and the cache are not (and DVC needed no new ignores)
    lock = yaml.safe_load((tmp_path / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"prepare", "train", "evaluate"}
    assert not _git_ignored(tmp_path, "dvc.lock")
    for output in ("data/processed/ratings.parquet", "data/models/batch/factors.npz",
                   ".dvc/cache", ".dvc/tmp"):
        assert _git_ignored(tmp_path, output), output
    untracked = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                               cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert not [line for line in untracked.splitlines() if "data/" in line], untracked
    again = subprocess.run(dvc + ["repro"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "didn't change" in again.stdout
    # training again (as on a fresh clone) writes the same dvc.lock: timings are not outputs
    lock = (tmp_path / "dvc.lock").read_text()
    forced = subprocess.run(dvc + ["repro", "--force", "train"], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert (tmp_path / "dvc.lock").read_text() == lock
    assert "train_seconds" in (tmp_path / "data" / "timings.json").read_text()
    status = subprocess.run(dvc + ["status"], cwd=tmp_path, env=env, capture_output=True,
                            text=True)
    assert status.returncode == 0 and "up to date" in status.stdout
