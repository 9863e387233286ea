"""The Faust worker: app, topics and agents, each in its own module (Faust example layout).

Run it with ``reelstream worker``. The logic lives in :mod:`reelstream.streaming`.
"""
