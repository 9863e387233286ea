"""The API keeps the contract its OpenAPI schema states: schemathesis fuzzes every operation
in-process (ASGI), with every built-in check, schema-valid and schema-invalid inputs alike.

The app runs on the real embedded stack (this module's own ratings topic, Redis database and
key prefix, see ``conftest.py``): the fuzzer's ratings are really published, its reads really
hit Redis and PostgreSQL, so a driver error on an odd value (an OFFSET beyond int8, ...) is
found as a 500 instead of being hidden by a stub.

One validated bound is not in the schema, because JSON Schema cannot state it: the event-time
window moves with the clock (``REELSTREAM_EVENT_TIME_MIN`` .. now +
``REELSTREAM_EVENT_TIME_MAX_AHEAD_S``; the field's description says so). Schema-valid
``date-time`` values are therefore drawn inside it (any offset, 0-6 fraction digits);
out-of-window times are 422 in ``routes/test_ratings_routes.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import schemathesis
from api_testing import API_KEY
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis import strategies as st
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.generation import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans

from api.main import create_app
from reelstream.settings import Settings

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 40


def date_times_in_window() -> st.SearchStrategy[str]:
    def render(moment: datetime, offset_minutes: int, digits: int) -> str:
        local = moment.astimezone(timezone(timedelta(minutes=offset_minutes))).replace(tzinfo=None)
        text = local.isoformat(timespec="microseconds")[: 20 + digits].rstrip(".")
        sign = "-" if offset_minutes < 0 else "+"
        hours, minutes = divmod(abs(offset_minutes), 60)
        return text + ("Z" if offset_minutes == 0 else f"{sign}{hours:02d}:{minutes:02d}")

    earliest = datetime(1995, 1, 1, tzinfo=UTC)
    latest = datetime.now(UTC)  # well inside now + max ahead
    return st.builds(
        render,
        st.datetimes(earliest.replace(tzinfo=None), latest.replace(tzinfo=None)).map(
            lambda naive: naive.replace(tzinfo=UTC)
        ),
        st.integers(-(23 * 60 + 59), 23 * 60 + 59),
        st.integers(0, 6),
    )


schemathesis.openapi.format("date-time", date_times_in_window())


load_all_checks()
ALL_CHECKS = CHECKS.get_all()


def test_api_keeps_its_openapi_contract(api_settings: Settings) -> None:
    app = create_app(api_settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9  # every route is in the schema, so every route is fuzzed
    failures: dict[str, str] = {}
    try:
        for operation in operations:
            for mode in GenerationMode:
                label = f"{mode.value} {operation.label}"
                try:
                    fuzz(operation.as_strategy(generation_mode=mode))
                except Unsatisfiable:  # nothing to make invalid: no parameters, no body
                    assert mode is GenerationMode.NEGATIVE, label
                except (Exception, BaseExceptionGroup) as exc:  # schemathesis' failure report for this operation
                    failures[label] = str(exc)[:3000]
    finally:
        shutdown_lifespans()  # the app's lifespan (producer, pools) ran on schemathesis' loop
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def fuzz(strategy: st.SearchStrategy[Any]) -> None:
    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same cases on every run: a failure here is never a fluke
        database=None,
        phases=[Phase.explicit, Phase.generate],  # the report names the first failing case
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers={"X-API-Key": API_KEY}, checks=ALL_CHECKS)

    run()
