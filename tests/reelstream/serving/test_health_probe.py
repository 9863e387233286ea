"""The kept Kafka admin client of the health probe, across threads and a broker restart.

A private broker (not the session stack's): this test stops and restarts it.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reelstream.serving.health_probe import BrokerProbe
from reelstream.settings import Settings
from reelstream.stack import EmbeddedStack

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedStack]:
    from reelstream.processes import free_port

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, environment="test", state_dir=tmp_path,
        kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",
    )  # fmt: skip
    stack = EmbeddedStack(settings, embedded=["kafka"], die_with_parent=True)
    try:
        stack.up(["kafka"])
        yield stack
    finally:
        stack.down()


def test_probe_follows_the_broker_down_and_up_again_from_any_thread(
    broker: EmbeddedStack,
) -> None:
    probe = BrokerProbe(broker.settings)
    pool = ThreadPoolExecutor(max_workers=3)  # each probe may run on another thread
    try:
        assert all(pool.map(lambda _: probe.reachable(2.0), range(6)))
        kept = probe._admin
        assert kept is not None

        broker.down(["kafka"])
        assert not pool.submit(probe.reachable, 1.0).result(10)
        assert probe._admin is None  # a dead broker's client is dropped, not reused

        broker.up(["kafka"])  # same port, a new (empty) broker
        assert pool.submit(probe.reachable, 2.0).result(10)
        assert probe._admin is not None and probe._admin is not kept
        assert all(pool.map(lambda _: probe.reachable(2.0), range(6)))
    finally:
        pool.shutdown()
        probe.close()
