"""MovieLens titles carry the year: ``"Toy Story (1995)"`` → ``("Toy Story", 1995)``."""

from __future__ import annotations

import re

__all__ = ["split_title"]

# "(1995)" or a TV series range "(2006-2007)" / "(2006–)" at the very end of the title.
_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-\u2013]\s*\d{0,4})?\)\s*$")


def split_title(raw: str) -> tuple[str, int | None]:
    """Title without the trailing year, and the year (None when the title has none).

    >>> split_title("Toy Story (1995)")
    ('Toy Story', 1995)
    >>> split_title("Babylon 5")
    ('Babylon 5', None)
    >>> split_title("City of Lost Children, The (Cité des enfants perdus, La) (1995)")
    ('City of Lost Children, The (Cité des enfants perdus, La)', 1995)
    """
    text = raw.strip()
    match = _YEAR.match(text)
    if match is None or not match.group("title"):
        return text, None
    return match.group("title"), int(match.group("year"))
