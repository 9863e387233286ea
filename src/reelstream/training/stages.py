"""DVC stage entry points: ``python -m reelstream.training.stages prepare|train|evaluate``.

Each stage reads and writes files only, so ``dvc repro`` needs no server: MovieLens ->
``data/processed/ratings.parquet`` -> ``data/models/batch/factors.npz`` -> ``metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

__all__ = ["prepare", "train", "evaluate", "main"]


def prepare(dataset: Path, out: Path) -> Path:
    """Read MovieLens (any layout) into the snapshot schema as parquet."""
    from reelstream.training.data import movielens_snapshot

    snapshot = movielens_snapshot(dataset).sort_values(["user_id", "rated_at", "movie_id"])
    out.parent.mkdir(parents=True, exist_ok=True)
    snapshot.to_parquet(out, index=False)
    return out


def train(ratings: Path, params: Path, out: Path) -> Path:
    """Train on the training part of the temporal split (the model that is evaluated)."""
    from reelstream.models.batch_als import train_batch_model
    from reelstream.training.data import load_params, movielens_snapshot
    from reelstream.training.split import temporal_split

    batch_params = load_params(params)
    train_part, _ = temporal_split(movielens_snapshot(ratings), batch_params.test_fraction)
    started = time.perf_counter()
    model = train_batch_model(train_part, batch_params)
    seconds = time.perf_counter() - started
    model.save(out)
    out.with_suffix(".json").write_text(json.dumps({"train_seconds": seconds}))
    return out


def evaluate(ratings: Path, model_path: Path, params: Path, out: Path) -> dict:
    """Score the trained model and the popularity baseline on the held-out part."""
    from reelstream.evaluation.baselines import PopularityModel
    from reelstream.evaluation.scoring import evaluate_model
    from reelstream.models.batch import BatchModel
    from reelstream.training.data import load_params, movielens_snapshot
    from reelstream.training.pipeline import describe_snapshot
    from reelstream.training.split import temporal_split

    batch_params = load_params(params)
    snapshot = movielens_snapshot(ratings)
    train_part, test_part = temporal_split(snapshot, batch_params.test_fraction)
    kw = {"k": batch_params.k, "threshold": batch_params.relevance_threshold}
    model = BatchModel.load(model_path)
    info = model_path.with_suffix(".json")
    metrics = {
        "model": evaluate_model(model, train_part, test_part, **kw),
        "popularity": evaluate_model(PopularityModel.fit(train_part), train_part, test_part, **kw),
        "snapshot": describe_snapshot(snapshot).as_params(),
    }
    if info.exists():
        metrics["model"]["train_seconds"] = json.loads(info.read_text())["train_seconds"]
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m reelstream.training.stages")
    sub = parser.add_subparsers(dest="stage", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--dataset", type=Path, default=None)
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--out", type=Path, default=Path("data/processed/ratings.parquet"))
    t = sub.add_parser("train")
    t.add_argument("--ratings", type=Path, default=Path("data/processed/ratings.parquet"))
    t.add_argument("--params", type=Path, default=Path("params.yaml"))
    t.add_argument("--out", type=Path, default=Path("data/models/batch/factors.npz"))
    e = sub.add_parser("evaluate")
    e.add_argument("--ratings", type=Path, default=Path("data/processed/ratings.parquet"))
    e.add_argument("--model", type=Path, default=Path("data/models/batch/factors.npz"))
    e.add_argument("--params", type=Path, default=Path("params.yaml"))
    e.add_argument("--out", type=Path, default=Path("metrics.json"))
    args = parser.parse_args(argv)
    if args.stage == "prepare":
        from reelstream.training.data import resolve_dataset

        prepare(resolve_dataset(args.dataset, args.params), args.out)
    elif args.stage == "train":
        train(args.ratings, args.params, args.out)
    else:
        evaluate(args.ratings, args.model, args.params, args.out)


if __name__ == "__main__":
    main()
