"""OnlineRecommender.forget_user: nothing of the user is left, others are untouched."""

from __future__ import annotations

import pickle

from reelstream.models import OnlineRecommender, load_online_config


def _model() -> OnlineRecommender:
    model = OnlineRecommender(load_online_config())
    for t, (user, movie, y) in enumerate([(1, 10, 4.0), (1, 20, 5.0), (2, 10, 3.0),
                                           (2, 30, 4.5), (1, 30, 2.0)]):
        model.learn_one(user, movie, y, timestamp=1_000_000 + t)
    return model


def test_forgotten_user_leaves_nothing_and_starts_again_from_nothing():
    model = _model()
    other_before = model.predict_one(2, 20)
    removed = model.forget_user(1)
    assert removed["factors"] == 1 and removed["rated"] == 3
    assert model.mf.user(1)[1] is None and model.rated.count(1) == 0 and not model.is_known(1)
    assert 1 not in model.transitions.history and 1 not in (model.blend.users if model.blend else {})
    assert model.predict_one(2, 20) == other_before  # another user's prediction unchanged
    restored = pickle.loads(pickle.dumps(model))  # what a checkpoint holds
    assert restored.mf.user(1)[1] is None and restored.rated.count(1) == 0
    assert model.forget_user(1)["factors"] == 0  # twice: nothing more to remove
    model.learn_one(1, 20, 3.0, timestamp=2_000_000)
    assert model.rated.count(1) == 1  # the next rating starts from nothing
