"""reelstream's HTTP API: a thin FastAPI adapter over :mod:`reelstream.serving`.

Run it with ``reelstream api``; the OpenAPI docs are at ``/docs``.
"""
