"""River ``reco`` models keep one small array (or float) per user and item in ``defaultdict``s;
a checkpoint stores each of them as its keys and one stacked array instead, which is smaller
and several times faster to pickle than thousands of small objects."""

from __future__ import annotations

import collections

import numpy as np

__all__ = ["WEIGHT_DICTS", "pack_weights", "unpack_weights"]

#: The per-user and per-item weights a River ``reco`` model may hold.
WEIGHT_DICTS = ("u_biases", "i_biases", "u_latents", "i_latents")


def pack_weights(model, n_factors: int) -> tuple[object, dict]:  # noqa: ANN001
    """A shallow copy of ``model`` without its weight dicts, and the dicts packed as
    ``name -> (default_factory, keys, values)``."""
    import copy

    bare = copy.copy(model)
    packed = {}
    for name in WEIGHT_DICTS:
        weights = getattr(model, name, None)
        if weights is None:
            continue
        keys = np.fromiter(weights.keys(), dtype=np.int64, count=len(weights))
        if name.endswith("latents"):
            values = np.stack(list(weights.values())) if weights else np.zeros((0, n_factors))
        else:
            values = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
        packed[name] = (weights.default_factory, keys, values)
        setattr(bare, name, None)
    return bare, packed


def unpack_weights(bare, packed: dict) -> None:  # noqa: ANN001
    """Put the weight dicts of :func:`pack_weights` back on ``bare`` (in place)."""
    for name, (factory, keys, values) in packed.items():
        items = values if name.endswith("latents") else values.tolist()
        setattr(bare, name, collections.defaultdict(factory, zip(keys.tolist(), items, strict=True)))
