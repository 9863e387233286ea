"""Item-to-item transitions on a stream small enough to check by hand."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from reelstream.models import OnlineConfig, OnlineRecommender, Transitions

from .checks import EVENTS


@pytest.fixture
def transitions():
    # user 1 rates rows 0, 1, 2; user 2 rates 0, 1; user 3 rates 2, 0
    tr = Transitions(window=2, position_decay=0.5, reverse_weight=0.0, norm_power=0.0)
    for user, row in [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (3, 2), (3, 0)]:
        tr.add(user, row)
    return tr


def test_counts_by_hand(transitions):
    # 0 -> 1 (users 1 and 2, distance 1), 0 -> 2 (user 1, distance 2: weight 0.5)
    assert transitions.row(0).tolist() == [0.0, 2.0, 0.5]
    # 1 -> 2 (user 1), 2 -> 0 (user 3)
    assert transitions.row(1).tolist() == [0.0, 0.0, 1.0]
    assert transitions.row(2).tolist() == [1.0, 0.0, 0.0]
    assert transitions.recent(1) == [1, 2] and transitions.recent(3) == [2, 0]


def test_scores_from_recent_movies(transitions):
    # user 3's last: 0 (weight 1) then 2 (weight 0.5): C[0] + 0.5 C[2]
    assert transitions.scores(3, 3).tolist() == [0.5, 2.0, 0.5]
    assert transitions.scores(99, 3).tolist() == [0.0, 0.0, 0.0]


def test_normalised_and_reverse_links():
    tr = Transitions(window=1, position_decay=1.0, reverse_weight=0.5, norm_power=1.0)
    for user, row in [(1, 0), (1, 1), (2, 0), (2, 2), (3, 0), (3, 1)]:
        tr.add(user, row)
    # C[0] = [0, 2, 1] / 3 after normalisation; reverse links 1 -> 0 and 2 -> 0 weigh 0.5
    np.testing.assert_allclose(tr.scores(4, 3), [0, 0, 0])
    np.testing.assert_allclose(tr.row(0), [0, 2, 1])
    np.testing.assert_allclose(tr.row(1), [1.0, 0, 0])  # two reverse links of 0.5
    tr.add(4, 0)
    np.testing.assert_allclose(tr.scores(4, 3), [0, 2 / 3, 1 / 3])


def test_scores_into_touches_only_linked_rows(transitions):
    out = np.zeros(5)
    touched = transitions.scores_into(3, out)
    assert sorted(set(touched.tolist())) == [0, 1, 2]
    assert out.tolist() == [0.5, 2.0, 0.5, 0.0, 0.0]
    assert transitions.scores_into(99, out) is None


def test_rating_the_same_movie_again_links_nothing():
    tr = Transitions(window=3)
    tr.add(1, 0)
    tr.add(1, 0)
    assert tr.row(0).tolist() == [0.0]


def test_pickle_merges_pending(transitions):
    clone = pickle.loads(pickle.dumps(transitions))
    assert clone.scores(3, 3).tolist() == transitions.scores(3, 3).tolist()
    clone.add(2, 2)
    assert clone.row(1).tolist() == [0.0, 0.0, 2.0]


def test_blend_equals_formula():
    cfg = OnlineConfig(popularity_weight=0.7, popularity_half_life=50, transition_weight=1.3,
                       transition_scale=20.0, transition_window=3, transition_decay=0.6,
                       mf_weight=0.9)
    model = OnlineRecommender(cfg)
    model.learn_many(EVENTS)
    n = len(model.index)
    for user in (1, 7, 23):
        expected = (
            cfg.mf_weight * model.mf_scores(user)
            + cfg.popularity_weight * model.popularity_scores()
            + cfg.transition_weight * np.log1p(cfg.transition_scale * model.transitions.scores(user, n))
        )
        np.testing.assert_allclose(model.scores(user), expected, rtol=1e-5, atol=1e-5)
        rated = model.rated.rows(user)
        expected[rated] = -np.inf
        best = np.argsort(-expected, kind="stable")[:5]
        got = model.recommend(user, 5)
        assert [m for m, _ in got] == model.index.ids[best].tolist()
        np.testing.assert_allclose([s for _, s in got], expected[best], rtol=1e-5)


def test_transitions_change_ranking_not_ratings():
    plain = OnlineRecommender()
    blend = OnlineRecommender(OnlineConfig(transition_weight=2.0))
    plain.learn_many(EVENTS)
    blend.learn_many(EVENTS)
    assert all(plain.predict_one(u, m) == blend.predict_one(u, m) for u, m, _, _ in EVENTS[:50])
    assert any(plain.recommend(u, 5) != blend.recommend(u, 5) for u in range(1, 41))


def test_links_update_in_place():
    tr = Transitions(window=1, position_decay=1.0, reverse_weight=1.0, norm_power=0.0)
    for user in range(1000):
        tr.add(user, 0)
        tr.add(user, 1 + user % 3)
    assert len(tr._cols[0]) == 3 and len(tr._pos[0]) == 3  # one entry per distinct link
    assert tr.row(0).tolist() == [0.0, 334.0, 333.0, 333.0]
    assert tr.row(1).tolist() == [334.0, 0.0, 0.0, 0.0]
    assert tr._totals[0] == 1000.0


def test_scores_do_not_pin_rows():
    """Scoring reads rows through zero-copy views; none may outlive the call, or the row's
    array could not grow at the next link."""
    tr = Transitions(window=2, position_decay=0.5, norm_power=0.0)
    for user, row in [(1, 0), (1, 1), (2, 0), (2, 2)]:
        tr.add(user, row)
    touched = tr.scores_into(1, np.zeros(4))
    for user, row in [(3, 0), (3, 3), (1, 3)]:  # rows 0 and 1 grow while touched is alive
        tr.add(user, row)
    assert touched.tolist() == [1, 2]  # row 1 links nowhere yet
    assert tr.row(0).tolist() == [0.0, 1.0, 1.0, 1.5]
    assert tr.row(1).tolist() == [0.0, 0.0, 0.0, 1.0]


def _fan_out(top_k, refresh=0.05):
    """Movie 0 followed by movies 1..6, movie k+1 more often than movie k; user 9 last
    rated movie 0."""
    tr = Transitions(window=1, position_decay=1.0, norm_power=1.0, top_k=top_k, refresh=refresh)
    user = 100
    for target in range(1, 7):
        for _ in range(target):
            tr.add(user, 0)
            tr.add(user, target)
            user += 1
    tr.add(9, 0)
    return tr


def test_top_k_scores_only_the_strongest_links_normalised_by_the_full_total():
    exact = _fan_out(None).scores(9, 7)
    pruned = _fan_out(4).scores(9, 7)
    assert exact[1:].tolist() == pytest.approx([k / 21 for k in range(1, 7)])
    assert pruned.tolist() == pytest.approx([0, 0, 0, 3 / 21, 4 / 21, 5 / 21, 6 / 21])
    assert _fan_out(6).scores(9, 7).tolist() == exact.tolist()  # no row over top_k: exact


def test_top_k_chosen_again_once_the_total_has_grown():
    tr = _fan_out(4, refresh=0.5)
    tr.scores(9, 7)
    for user in range(200, 206):  # movie 1 now has 7 links from movie 0 (total 27 < 31.5)
        tr.add(user, 0)
        tr.add(user, 1)
    assert tr.scores(9, 7)[1] == 0.0  # the strongest links as chosen at total 21
    for user in range(300, 306):  # total 33 > 21 * 1.5: chosen again
        tr.add(user, 0)
        tr.add(user, 1)
    assert tr.scores(9, 7).tolist() == pytest.approx([0, 13 / 33, 0, 0, 4 / 33, 5 / 33, 6 / 33])


def test_top_k_survives_pickling():
    tr = _fan_out(4)
    before = tr.scores(9, 7)
    clone = pickle.loads(pickle.dumps(tr))
    assert clone.top_k == 4 and clone.scores(9, 7).tolist() == before.tolist()


def test_top_k_rows_forget_their_weakest_links_but_not_their_weight():
    tr = Transitions(window=1, position_decay=1.0, norm_power=1.0, top_k=2)
    user = 100
    for target, times in [(1, 3), (2, 1), (3, 2)]:  # the 4th link (to 4) makes 2 * top_k
        for _ in range(times):
            tr.add(user, 0)
            tr.add(user, target)
            user += 1
    assert len(tr._cols[0]) == 3
    tr.add(user, 0)
    tr.add(user, 4)
    assert tr.row(0, 5).tolist() == [0.0, 3.0, 0.0, 2.0, 0.0]  # kept the 2 strongest
    assert tr._totals[0] == 7.0
    tr.add(user + 1, 0)
    tr.add(user + 1, 2)  # a forgotten link starts again
    assert tr.row(0, 5).tolist() == [0.0, 3.0, 1.0, 2.0, 0.0]
