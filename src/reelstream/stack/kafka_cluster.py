"""A cluster of Apache Kafka KRaft nodes on loopback, for replication and leader-loss scenarios.

Every node is broker and controller (``size`` voters, a majority must live); topics and the
internal ones are replicated ``size`` times (at most 3) with ``min.insync.replicas`` one less,
so an acknowledged event is on at least two nodes and one node may die without losing it.
Not part of ``stack up``: ``reelstream bench chaos`` and the fault tests start one on free ports.
"""

from __future__ import annotations

import shutil
import signal
import socket
import time
from pathlib import Path

from reelstream.stack._proc import PidFile, log_tail, spawn, stop_group
from reelstream.stack.base import StackError
from reelstream.stack.kafka_dist import kafka_dist
from reelstream.stack.kafka_node import KafkaNode, new_cluster_id

__all__ = ["KafkaCluster"]


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def replicated(size: int) -> dict[str, str]:
    """The template's single-node replication keys, raised for a cluster of ``size``."""
    rf = min(size, 3)
    isr = str(max(rf - 1, 1))
    return {
        "default.replication.factor": str(rf),
        "min.insync.replicas": isr,
        "offsets.topic.replication.factor": str(rf),
        "transaction.state.log.replication.factor": str(rf),
        "transaction.state.log.min.isr": isr,
        "share.coordinator.state.topic.replication.factor": str(rf),
        "share.coordinator.state.topic.min.isr": isr,
    }


class KafkaCluster:
    """``size`` nodes under ``home`` (``node<N>/`` each, logs ``node<N>.log``); heap per node
    ``heap_mb``. Processes die with their creator; :meth:`stop` stops them earlier."""

    def __init__(
        self, dist_dir: Path, home: Path, *, size: int = 3, heap_mb: int = 256,
        host: str = "127.0.0.1",
    ) -> None:  # fmt: skip
        self.dist_dir, self.home, self.host = dist_dir, Path(home), host
        ports = _free_ports(2 * size)
        voters = {n: ports[size + n - 1] for n in range(1, size + 1)}
        self.nodes = {
            n: KafkaNode(n, host, ports[n - 1], voters, self.home / f"node{n}", heap_mb,
                         overrides=replicated(size))  # fmt: skip
            for n in voters
        }

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{self.host}:{node.port}" for node in self.nodes.values())

    def _pid_file(self, n: int) -> PidFile:
        return PidFile(self.home / f"node{n}.pid")

    def _log(self, n: int) -> Path:
        return self.home / f"node{n}.log"

    def start(self, timeout_s: float = 180.0) -> KafkaCluster:
        """Format and start every node; return once all brokers are registered and unfenced.
        A new cluster: what an earlier one left under ``home`` (its ports, its id) is removed."""
        dist = kafka_dist(self.dist_dir)
        cluster_id = new_cluster_id()
        procs = {}
        for n, node in self.nodes.items():
            shutil.rmtree(node.data_dir, ignore_errors=True)
            node.write_config()
            node.format_once(dist, cluster_id)
            procs[n] = spawn(node.command(dist), self._log(n), self._pid_file(n),
                             die_with_parent=True)  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while len(self.live_brokers()) < len(self.nodes):
            dead = [n for n, p in procs.items() if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                self.stop()
                n = dead[0] if dead else 1
                why = "exited" if dead else f"did not form within {timeout_s:.0f} s"
                raise StackError(f"kafka cluster: node {n} {why}:\n{log_tail(self._log(n))}")
            time.sleep(0.5)
        return self

    def _admin(self):  # noqa: ANN202 - kafka.KafkaAdminClient
        from kafka import KafkaAdminClient

        return KafkaAdminClient(bootstrap_servers=self.bootstrap_servers.split(","),
                                request_timeout_ms=5000, bootstrap_timeout_ms=5000)  # fmt: skip

    def live_brokers(self) -> set[int]:
        """Ids of the brokers the cluster's metadata lists as live (empty when unreachable)."""
        try:
            admin = self._admin()
        except Exception:  # noqa: BLE001 - not up yet
            return set()
        try:
            brokers = admin.describe_cluster()["brokers"]
            return {b["broker_id"] for b in brokers if not b.get("is_fenced")}
        except Exception:  # noqa: BLE001
            return set()
        finally:
            admin.close()

    def leaders(self, topic: str) -> dict[int, int]:
        """``{partition: leader node id}`` of ``topic``."""
        admin = self._admin()
        try:
            (described,) = admin.describe_topics([topic])
            return {p["partition_index"]: p["leader_id"] for p in described["partitions"]}
        finally:
            admin.close()

    def kill(self, n: int) -> None:
        """SIGKILL node ``n``: no clean shutdown, no leadership handed over beforehand."""
        pid = self._pid_file(n).running_pid()
        if pid is not None:
            stop_group(pid, signal.SIGKILL, timeout_s=10)

    def stop(self) -> None:
        for n in self.nodes:
            pid = self._pid_file(n).running_pid()
            if pid is not None:
                stop_group(pid, signal.SIGTERM, timeout_s=20)
