"""docs/settings.md documents every field of ``Settings`` once, with its default."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr

from reelstream.settings import Settings

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
ROW = re.compile(r"^\| `(REELSTREAM_[A-Z0-9_]+)` \| (.*?) \| .* \|$")


def _rows() -> list[tuple[str, str]]:
    return [m.groups() for line in REFERENCE.read_text().splitlines() if (m := ROW.match(line))]


def _shown(default: object) -> str | None:
    """How a plain default is written in the reference; None when it is not a plain value."""
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, float):
        return f"{default:g}"
    if isinstance(default, int | str | Path) and str(default):
        return str(default)
    return None


def test_every_setting_is_documented_once_and_nothing_else():
    documented = [name for name, _ in _rows()]
    fields = {f"REELSTREAM_{name.upper()}" for name in Settings.model_fields}
    assert sorted(set(documented)) == sorted(documented), "a setting is documented twice"
    assert sorted(fields - set(documented)) == [], "fields of Settings missing in docs/settings.md"
    assert sorted(set(documented) - fields) == [], "rows naming no field of Settings"


def test_plain_defaults_are_the_documented_ones():
    defaults = dict(_rows())
    wrong = {}
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None or isinstance(field.default, SecretStr):
            continue
        shown = _shown(field.default)
        row = defaults.get(f"REELSTREAM_{name.upper()}")
        if shown is not None and row is not None and f"`{shown}`" not in row:
            wrong[name] = (shown, row)
    assert wrong == {}
