"""The online item-item term: refits from the stream, newest ratings count at once, reasons."""

from __future__ import annotations

import numpy as np
import pytest

from reelstream.models import OnlineConfig, OnlineRecommender

from .checks import EVENTS

CONFIG = OnlineConfig(item_weight=0.5, item_lambda=5.0, item_refit_every=200, item_max_items=0)


def _model(config: OnlineConfig = CONFIG) -> OnlineRecommender:
    model = OnlineRecommender(config)
    model.learn_many(EVENTS)
    return model


def test_refits_every_n_events_over_the_movies_known_then():
    model = OnlineRecommender(CONFIG)
    model.learn_many(EVENTS[:199])
    assert model.item_item.fitted_rows == 0
    model.learn_many(EVENTS[199:200])
    fitted = model.item_item.fitted_rows
    assert 0 < fitted <= len(model.index)
    model.learn_many(EVENTS[200:])
    assert model.item_item.fitted_rows >= fitted


def test_a_new_rating_changes_the_next_list_without_a_refit():
    model = _model()
    user = 3
    before = model.recommend(user, 10)
    fitted = model.item_item.matrix
    # rate the movie most linked to nothing the user has rated yet
    candidates = [m for m, _ in before]
    model.learn_one(user, candidates[-1], 5.0, None)
    assert model.item_item.matrix is fitted  # no refit happened
    assert model.recommend(user, 10) != before


def test_the_term_moves_scores():
    plain = _model(CONFIG.model_copy(update={"item_weight": 0.0}))
    mixed = _model()
    assert not np.allclose(plain.scores(3), mixed.scores(3))


def test_reasons_are_movies_the_user_rated_with_shares_summing_to_at_most_one():
    model = _model()
    user = 5
    rated = {int(model.index.ids[r]) for r in model.rated.rows(user)}
    movies = [m for m, _ in model.recommend(user, 10)]
    reasons = model.explain(user, movies)
    assert len(reasons) == len(movies) and any(reasons)
    for because in reasons:
        assert {m for m, _ in because} <= rated
        assert all(s > 0 for _, s in because)
        assert sum(s for _, s in because) <= 1.0 + 1e-3


def test_no_term_no_reasons_and_unknown_movies_get_none():
    assert OnlineRecommender().explain(1, [10]) == [()]
    model = _model()
    assert model.explain(5, [987654]) == [()]


def test_old_checkpoints_without_the_term_still_load():
    import pickle

    model = _model(OnlineConfig())
    state = model.__getstate__()
    state.pop("item_item")
    clone = OnlineRecommender.__new__(OnlineRecommender)
    clone.__setstate__(state)
    assert clone.item_item is None
    assert clone.recommend(3, 5) == model.recommend(3, 5)
    pickle.loads(pickle.dumps(clone))


@pytest.mark.parametrize("weight", [0.25, 1.0])
def test_same_events_same_lists(weight):
    a = _model(CONFIG.model_copy(update={"item_weight": weight}))
    b = _model(CONFIG.model_copy(update={"item_weight": weight}))
    assert a.recommend(7, 10) == b.recommend(7, 10)


class _Manual:
    """An executor whose jobs run only when told, so a test sees the refit in flight."""

    def __init__(self) -> None:
        self.jobs: list = []

    def submit(self, fn, *args):
        from concurrent.futures import Future

        future: Future = Future()
        self.jobs.append((future, fn, args))
        return future

    def run_all(self) -> None:
        for future, fn, args in self.jobs:
            future.set_result(fn(*args))
        self.jobs.clear()


def test_a_background_refit_is_adopted_by_a_later_event_and_matches_the_synchronous_one(
    monkeypatch,
):
    from reelstream.models.online_item_item import ItemItemTerm

    synchronous = OnlineRecommender(CONFIG)
    synchronous.learn_many(EVENTS[:200])
    executor = _Manual()
    monkeypatch.setattr(ItemItemTerm, "refit_executor", executor)
    model = OnlineRecommender(CONFIG)
    model.learn_many(EVENTS[:200])
    assert model.item_item.fitted_rows == 0 and len(executor.jobs) == 1  # in flight
    executor.run_all()
    assert model.item_item.fitted_rows == 0  # done, not yet adopted
    model.learn_many(EVENTS[200:201])
    assert (model.item_item.matrix != synchronous.item_item.matrix).nnz == 0


def test_a_worker_s_refit_runs_in_a_process_of_its_own_at_the_lowest_priority(monkeypatch):
    """No GIL shared with the stream, and only the CPU the stream leaves idle."""
    import os
    from reelstream.models.online_item_item import ItemItemTerm
    from reelstream.models.refit_process import RefitProcess

    synchronous = OnlineRecommender(CONFIG)
    synchronous.learn_many(EVENTS[:200])
    monkeypatch.setattr(ItemItemTerm, "refit_executor", None)
    ItemItemTerm.fit_in_background()
    executor = ItemItemTerm.refit_executor
    try:
        assert isinstance(executor, RefitProcess)
        assert executor.submit(os.nice, 0).result() == 19
        assert executor.submit(os.getpid).result() != os.getpid()
        model = OnlineRecommender(CONFIG)
        model.learn_many(EVENTS[:200])
        model.item_item._pending.result()  # fitted in the child
        model.learn_many(EVENTS[200:201])  # adopted by the next event
        # one BLAS thread in the child: sums may round differently in the last bits
        background, expected = model.item_item.matrix, synchronous.item_item.matrix
        assert (background.indices == expected.indices).all()  # the same neighbours
        np.testing.assert_allclose(background.data, expected.data, rtol=1e-4, atol=1e-6)
    finally:
        executor.shutdown()


def test_a_dead_refit_process_fails_no_event_and_the_next_refit_gets_a_new_one(monkeypatch):
    import os
    import signal
    import time
    from concurrent.futures import wait

    from reelstream.models.online_item_item import ItemItemTerm

    monkeypatch.setattr(ItemItemTerm, "refit_executor", None)
    monkeypatch.setattr(ItemItemTerm, "refit_max_share", 1.0)  # refits as often as they come
    ItemItemTerm.fit_in_background()
    dead = ItemItemTerm.refit_executor
    child = dead.submit(os.getpid).result()
    busy = dead.submit(time.sleep, 30)
    os.kill(child, signal.SIGKILL)
    wait([busy])  # the pool knows its process died
    assert busy.exception() is not None
    model = OnlineRecommender(CONFIG)
    model.learn_many(EVENTS[:200])  # the refit due at 200 cannot start: no event fails
    fresh = ItemItemTerm.refit_executor
    try:
        assert fresh is not dead and model.item_item.matrix is None
        model.learn_many(EVENTS[200:400])  # the refit due at 400 runs in the new process
        model.item_item._pending.result()
        model.learn_many(EVENTS[400:401])
        assert model.item_item.fitted_rows > 0
    finally:
        fresh.shutdown()


def test_background_refits_keep_to_their_share_of_the_time(monkeypatch):
    from reelstream.models.online_item_item import ItemItemTerm

    executor = _Manual()
    monkeypatch.setattr(ItemItemTerm, "refit_executor", executor)
    monkeypatch.setattr(ItemItemTerm, "refit_max_share", 1e-9)  # the next one: not for ages
    model = OnlineRecommender(CONFIG)
    model.learn_many(EVENTS[:200])
    executor.run_all()
    model.learn_many(EVENTS[200:400])  # adopts the first; the refit due at 400 is skipped
    assert model.item_item.fitted_rows > 0 and executor.jobs == []


def test_a_background_refit_in_flight_is_not_checkpointed_nor_adopted_over_loaded_weights(
    monkeypatch,
):
    import pickle

    import scipy.sparse as sp

    from reelstream.models.online_item_item import ItemItemTerm

    executor = _Manual()
    monkeypatch.setattr(ItemItemTerm, "refit_executor", executor)
    model = OnlineRecommender(CONFIG)
    model.learn_many(EVENTS[:200])
    clone = pickle.loads(pickle.dumps(model))  # a checkpoint taken while the fit runs
    assert clone.item_item._pending is None
    term, n = model.item_item, len(model.index)
    weights = sp.identity(n, format="csr", dtype=np.float32)
    term.load(weights, np.arange(n), n, "champion v1")
    executor.run_all()
    term.adopt_refit()
    assert term.source == "champion v1" and (term.matrix != weights).nnz == 0


def test_a_failed_background_refit_keeps_the_last_weights_and_fails_no_event(monkeypatch):
    from reelstream.models.online_item_item import ItemItemTerm

    class Failing(_Manual):
        def run_all(self) -> None:
            for future, _, _ in self.jobs:
                future.set_exception(MemoryError("no room for the Gram matrix"))
            self.jobs.clear()

    executor = Failing()
    monkeypatch.setattr(ItemItemTerm, "refit_executor", executor)
    model = OnlineRecommender(CONFIG)
    model.learn_many(EVENTS[:200])
    executor.run_all()
    model.learn_many(EVENTS[200:210])  # adopting the failed refit raises nothing
    assert model.item_item.matrix is None and model.item_item._pending is None


def _dense_term(term, history: np.ndarray) -> np.ndarray:
    """The term as its definition reads, over the whole catalogue with a dense matrix."""
    tail = np.asarray(history, dtype=np.int64)[-term.max_history:]
    ages = np.arange(tail.size - 1, -1, -1)
    weighted = (0.5 ** (ages / term.history_halflife))[:, None] * term.matrix.toarray()[tail]
    total = weighted.sum(axis=0)
    return term.weight * total / total.std()


@pytest.mark.parametrize("max_items", [0, 20])
def test_the_term_summed_over_its_weighted_columns_equals_the_dense_definition(max_items):
    model = _model(CONFIG.model_copy(update={"item_max_items": max_items,
                                             "item_max_history": 7}))
    term = model.item_item
    for user in list(model.rated.users())[:10]:
        history = model.rated.rows(user)
        out = np.zeros(term.fitted_rows, dtype=np.float32)
        term.add_into(history, out)
        np.testing.assert_allclose(out, _dense_term(term, history), rtol=1e-4, atol=1e-5)
        rows = np.arange(term.fitted_rows)
        parts, scale = term.contributions(history, rows)
        tail = history[-term.max_history:]
        np.testing.assert_allclose(parts, term.matrix.toarray()[tail][:, rows]
                                   * (0.5 ** (np.arange(tail.size - 1, -1, -1) / 5.0))[:, None],
                                   rtol=1e-6)
        assert scale > 0


def test_lists_ranked_and_explained_together_equal_each_read_alone():
    model = _model()
    users = list(model.rated.users())[:8] + [10**9]  # one user the model has never seen
    together = model.recommend_explained(users, 10)
    for user in users:
        items = model.recommend(user, 10)
        reasons = model.explain(user, [m for m, _ in items])
        assert together[user] == [(m, s, r) for (m, s), r in zip(items, reasons, strict=True)]
    assert any(r for user in users for _, _, r in together[user])
