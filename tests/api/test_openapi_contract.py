"""The API keeps the contract its OpenAPI schema states: schemathesis tests every operation
in-process (ASGI), with every built-in check, schema-valid and schema-invalid inputs alike.

The app runs on the real embedded stack with MLflow (this module's own ratings topic, Redis
database, key prefix and registered model, see ``conftest.py``): the fuzzer's ratings are really published, its reads really
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

import pytest
import schemathesis
from api_testing import API_KEY
from hypothesis import strategies as st
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from schemathesis.python.asgi import shutdown_lifespans

from api.main import create_app
from reelstream.settings import Settings
from reelstream.worker_status import WorkerStatus, publish_status

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 50  # ~1,000 cases, ~10 s here


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


@pytest.fixture(scope="module")
def api_settings(api_settings: Settings, mlflow_stack: Settings) -> Settings:
    """The module's API settings with a real MLflow registry, so the model routes answer
    (an empty registry of this module's own) instead of 503."""
    return api_settings.model_copy(
        update={"registered_model_name": f"contract-{api_settings.ratings_topic}"}
    )


def _a_live_worker(settings: Settings) -> None:
    """A fresh worker heartbeat, so ``/health/pipeline`` describes a running pipeline (its
    503 for a stalled one is tested in ``routes/test_health_routes.py``)."""
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    try:
        publish_status(
            client,
            settings.redis_prefix,
            WorkerStatus(worker_id="contract", state="ok", heartbeat_at=datetime.now(UTC)),
        )
    finally:
        client.close()


def test_api_keeps_its_openapi_contract(api_settings: Settings) -> None:
    """What ``st run URL --checks all`` does (probing, coverage, fuzzing and stateful phases),
    run in-process by schemathesis' own engine, deterministically."""
    _a_live_worker(api_settings)
    # The run takes longer than a heartbeat stays fresh; the beat above must last it out.
    api_settings = api_settings.model_copy(update={"health_heartbeat_max_age_s": 3600.0})
    config = SchemathesisConfig.from_str(
        f"""
        headers = {{ "X-API-Key" = "{API_KEY}" }}
        [generation]
        max-examples = {EXAMPLES_PER_OPERATION}
        deterministic = true
        """
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(api_settings), config=config)
    phases: dict[str, Status] = {}
    checks_run: set[str] = set()
    cases = 0
    failures: list[str] = []
    try:
        for event in from_schema(schema).execute():
            if isinstance(event, events.PhaseFinished):
                phases[event.phase.name.value] = event.status
            elif isinstance(event, events.NonFatalError):
                failures.append(f"error in {event.label}: {event.info}")
            elif isinstance(event, events.ScenarioFinished):
                cases += len(event.recorder.cases)
                for results in event.recorder.checks.values():
                    for check in results:
                        checks_run.add(check.name)
                        if check.status != Status.SUCCESS and check.failure_info is not None:
                            info = check.failure_info
                            failures.append(
                                f"{event.label} [{check.name}] {info.failure.title}: "
                                f"{info.failure.message}\n{info.code_sample}"
                            )
    finally:
        shutdown_lifespans()  # the app's lifespan (producer, pools) ran on schemathesis' loop
    assert not failures, "\n\n".join(failures[:20])
    assert {phases[p] for p in ("coverage", "fuzzing", "stateful")} == {Status.SUCCESS}, phases
    load_all_checks()
    assert checks_run == set(CHECKS.get_all_names())  # every built-in check ran
    assert cases > 300
