"""The merge rule: another worker's contribution is added to this worker's item state."""

from __future__ import annotations

from .delta import ItemDelta

__all__ = ["apply_delta"]


def apply_delta(model, delta: ItemDelta) -> int:  # noqa: ANN001
    """Add ``delta`` (another worker's) to ``model``'s item side; return its event count.

    * factors and biases: ``+= delta`` (a movie this worker never saw starts from the
      delta); SGD steps are additive, so every worker ends with the sum of everyone's steps;
    * the global mean: the delta's ratings join the running mean;
    * trending counts, the rating blend's per-movie sums and counts: each event counted as
      if learned here now;
    * transitions: each event's links from the rater's recent movies, as the owner added
      them (user histories themselves stay with the owner).

    User state (factors, rated movies, histories) is untouched: it is partitioned by user.
    """
    mf = model.mf
    index = model.index
    rows = [index.add(int(i)) for i in delta.movie_ids.tolist()]
    event_rows = [index.add(int(i)) for i in delta.event_movies.tolist()]
    recent_rows = [index.add(int(i)) for i in delta.recent_ids.tolist()]
    model._ensure_capacity()
    journal = getattr(model, "item_journal", None)
    base = journal.base if journal is not None else {}
    for row, dq, db in zip(rows, delta.factor_deltas, delta.bias_deltas.tolist(), strict=True):
        mf.add_to_item(row, dq, db)
        if row in base:  # not this worker's own change: keep it out of its next delta
            q0, b0 = base[row]
            base[row] = (None if q0 is None else q0 + dq, b0 + db)
        model._dirty.add(row)
    ratings = delta.event_ratings.tolist()
    n = len(ratings)
    if n:
        mf.mean_n += n
        mf.global_mean += (sum(ratings) - n * mf.global_mean) / mf.mean_n
    trending = model.trending
    blend_items = model.blend.items if model.blend is not None else None
    for row, y in zip(event_rows, ratings, strict=True):
        trending.add(row)
        if blend_items is not None:
            stats = blend_items.get(row)
            if stats is None:
                blend_items[row] = [y, 1.0]
            else:
                stats[0] += y
                stats[1] += 1.0
    if model.config.transition_weight and recent_rows:
        transitions = model.transitions
        start = 0
        for row, length in zip(event_rows, delta.recent_lengths.tolist(), strict=True):
            if length:
                transitions.link_from(recent_rows[start : start + length], row)
                start += length
    model._static_at = None
    return n
