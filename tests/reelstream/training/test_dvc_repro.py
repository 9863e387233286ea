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


def test_dvc_repro_writes_metrics(tmp_path):
    shutil.copy(REPO / "dvc.yaml", tmp_path / "dvc.yaml")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["batch"]["dataset"] = str(DATASET)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    shutil.copytree(REPO / "src" / "reelstream", tmp_path / "src" / "reelstream",
                    ignore=shutil.ignore_patterns("__pycache__"))
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    env.pop("REELSTREAM_MOVIELENS_PATH", None)
    dvc = [str(Path(bin_dir) / "dvc")]
    subprocess.run(dvc + ["init", "--no-scm", "-q"], cwd=tmp_path, env=env, check=True)
    subprocess.run(dvc + ["config", "core.analytics", "false"], cwd=tmp_path, env=env, check=True)
    run = subprocess.run(dvc + ["repro"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["snapshot"]["snapshot_n_ratings"] == 100_836
    assert metrics["model"]["rmse"] <= 0.87
    assert metrics["model"]["ndcg_at_10"] >= 0.10
    assert metrics["popularity"]["ndcg_at_10"] == pytest.approx(0.0737, abs=0.002)
    assert (tmp_path / "data" / "models" / "batch" / "factors.npz").exists()
    assert (tmp_path / ".dvc" / "cache").is_dir()  # outputs went to the local cache
    again = subprocess.run(dvc + ["repro"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "didn't change" in again.stdout
