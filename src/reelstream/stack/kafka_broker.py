"""Apache Kafka (KRaft, one combined broker + controller node) as the stack's ``kafka`` service.

The log lives in ``STATE/kafka/data`` and is kept across ``down``/``up`` and crashes: what the
broker acknowledged is still there after a restart. The jars come from the per-machine cache
(:mod:`reelstream.stack.kafka_dist`); the heap is bounded by ``kafka_heap_mb``.
"""

from __future__ import annotations

import socket

from reelstream.stack.base import Service
from reelstream.stack.kafka_dist import KafkaDist, kafka_dist
from reelstream.stack.kafka_node import KafkaNode, new_cluster_id

__all__ = ["KafkaService"]


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class KafkaService(Service):
    name = "kafka"
    setting = "kafka_bootstrap_servers"
    # A JVM start is ~5 s on an idle machine; a loaded 2-core machine (tests, other servers
    # starting at the same time) slows it several times over.
    start_timeout_s = 120.0
    _dist: KafkaDist | None = None

    def _node(self) -> KafkaNode:
        controller = self.settings.kafka_controller_port or _free_port(self.host)
        return KafkaNode(
            node_id=1,
            host=self.host,
            port=self.port,
            voters={1: controller},
            home=self.state_dir / "kafka",
            heap_mb=self.settings.kafka_heap_mb,
        )

    def prepare(self) -> None:
        # A single node's controller port may change between starts (its quorum is static),
        # so an unset one is any free port.
        self._dist = kafka_dist(self.settings.kafka_dist_dir)
        self._current = self._node()
        self._current.write_config()
        self._current.format_once(self._dist, new_cluster_id())

    def command(self) -> list[str]:
        assert self._dist is not None, "prepare() first"
        return self._current.command(self._dist)

    def ready(self) -> bool:
        from reelstream.kafka import broker_reachable

        return broker_reachable(self.settings, timeout_s=2.0)

    def after_up(self) -> str | None:
        from reelstream.kafka import default_topics, ensure_topics

        created = ensure_topics(self.settings, default_topics(self.settings))
        return f"created topics {', '.join(created)}" if created else None
