"""How an exception is named in reasons, logs and dead-letter headers."""

from __future__ import annotations

__all__ = ["describe"]


def describe(exc: BaseException) -> str:
    """One line naming the error.

    >>> describe(ConnectionError("refused\\nmore detail"))
    'ConnectionError: refused'
    >>> describe(TimeoutError())
    'TimeoutError'
    """
    text = str(exc).strip().splitlines()
    name = type(exc).__name__
    if not text:
        return name
    return text[0] if text[0].startswith(name) else f"{name}: {text[0]}"
