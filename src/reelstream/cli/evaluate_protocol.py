"""The protocol table of ``reelstream evaluate batch``: ours beside tuned baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from reelstream.cli._common import console
from reelstream.models.batch_als import BatchParams

__all__ = ["OURS_GRID", "genres_of", "ours_setting", "print_protocol_comparison"]

#: Validation grid of ``--tune-ours`` (the values in params.yaml were chosen on it).
OURS_GRID = [
    {"ease_lambda": lam, "history_halflife": hl, "transition_weight": tw}
    for lam in (400.0, 600.0, 800.0) for hl in (3.0, 5.0, 10.0) for tw in (0.0, 0.25, 0.5)
]

#: Popularity penalties whose accuracy/diversity trade is printed beside ours.
PENALTIES = (0.5, 1.0, 2.0)


def ours_setting(params: BatchParams) -> dict[str, Any]:
    """Our ranker's settings from the ``batch:`` section."""
    return {
        "ease_lambda": params.ease_lambda, "ease_neighbours": params.ease_neighbours,
        "ease_max_items": params.ease_max_items, "history_halflife": params.history_halflife,
        "transition_weight": params.transition_weight,
        "transition_halflife": params.transition_halflife,
        "transition_window": params.transition_window,
        "transition_decay": params.transition_decay,
        "transition_neighbours": params.transition_neighbours,
        "popularity_weight": params.popularity_weight,
    }


def genres_of(path: Path) -> dict[int, set[str]] | None:
    """Genre set of each movie of a MovieLens folder (None for a ratings file)."""
    if not path.is_dir():
        return None
    from reelstream.movielens import load_movies

    movies = load_movies(path)
    return {int(m): set(g) for m, g in zip(movies["movie_id"], movies["genres"], strict=True)}


def _short(setting: dict[str, Any], base: dict[str, Any]) -> str:
    shown = {k: v for k, v in setting.items() if base.get(k) != v}
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in shown.items())


def print_protocol_comparison(
    ratings: pd.DataFrame, path: Path, params: BatchParams, tune_ours: bool
) -> None:
    from rich.table import Table

    from reelstream.evaluation.compare import compare, ours_baseline
    from reelstream.evaluation.list_baselines import BASELINES

    fixed = ours_setting(params)
    ours = ours_baseline(fixed, OURS_GRID if tune_ours else ())
    extra = [
        (f"ours, popularity penalty {p:g}",
         ours_baseline({**fixed, "popularity_weight": fixed["popularity_weight"] - p}))
        for p in PENALTIES
    ]
    with console.status("protocol: tuning every model on validation"):
        results = compare(ratings, [*BASELINES, ours], genres_of(path), k=params.k,
                          threshold=params.relevance_threshold, extra=extra)
    table = Table(title=f"Protocol of docs/evaluation.md ({path.name}): per-user last 20 % by "
                        "time held out, settings chosen on validation", min_width=100)
    for label in ("model", "val NDCG", "NDCG@10", "Recall@10", "coverage", "pop pct",
                  "diversity", "fit s"):
        table.add_column(label, justify="left" if label == "model" else "right")
    for r in results:
        m = r.metrics
        table.add_row(
            r.name,
            "—" if r.validation_ndcg != r.validation_ndcg else f"{r.validation_ndcg:.4f}",
            f"{m['ndcg_at_10']:.4f}", f"{m['recall_at_10']:.4f}", f"{m['coverage']:.1%}",
            f"{m['popularity_percentile']:.1%}",
            f"{m['genre_diversity']:.3f}" if "genre_diversity" in m else "—",
            f"{m['fit_s']:.1f}",
        )
    console.print(table)
    users = int(results[0].metrics["n_eval_users"]) if results else 0
    console.print(f"{users} users scored; pop pct = mean popularity percentile of shown "
                  "movies (0 % = most rated); diversity = mean pairwise genre distance.")
    for r in results:
        base = fixed if r.name.startswith("ours") else {}
        default = "as in params.yaml" if r.name.startswith("ours") else "no setting"
        console.print(f"  {r.name}: {_short(r.setting, base) or default}", soft_wrap=True)
