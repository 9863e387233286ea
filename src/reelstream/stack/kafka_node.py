"""One Apache Kafka KRaft node (broker and controller in one JVM): its files and command line.

Its ``server.properties`` is the shared template (``kafka_config/server.properties``, also
mounted by docker-compose) plus this node's keys only: roles, id, listeners, quorum voters,
log folder, and for a cluster the replication overrides.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from reelstream.stack.base import StackError
from reelstream.stack.kafka_dist import KafkaDist

__all__ = ["TEMPLATE", "KafkaNode", "new_cluster_id"]

TEMPLATE = Path(__file__).with_name("kafka_config") / "server.properties"

# The broker logs to stdout (the stack's log file); one line per event, no rolling files.
_LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.state.name = state.change.logger
logger.state.level = warn
"""


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (22 chars).
    Never one starting with "-" (as Kafka's own ``Uuid.randomUuid``): the storage tool's
    argument parser would read it as an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass
class KafkaNode:
    """Node ``node_id`` of a cluster whose controllers are ``voters`` ``{id: controller port}``."""

    node_id: int
    host: str
    port: int
    voters: dict[int, int]
    home: Path  # this node's folder: server.properties, log4j2.properties, data/
    heap_mb: int = 512
    overrides: dict[str, str] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def properties_path(self) -> Path:
        return self.home / "server.properties"

    def node_properties(self) -> dict[str, str]:
        ctl = self.voters[self.node_id]
        return {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": ",".join(
                f"{n}@{self.host}:{p}" for n, p in sorted(self.voters.items())
            ),
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{ctl}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir),
            **self.overrides,
        }

    def write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        node = "\n".join(f"{k}={v}" for k, v in self.node_properties().items())
        text = TEMPLATE.read_text() + f"\n# --- this node (written by reelstream) ---\n{node}\n"
        self.properties_path.write_text(text)
        (self.home / "log4j2.properties").write_text(_LOG4J2)

    def format_once(self, dist: KafkaDist, cluster_id: str) -> bool:
        """Format the log folder for ``cluster_id`` unless it already holds a node's data.
        Returns True when it formatted (a new, empty node)."""
        if (self.data_dir / "meta.properties").is_file():
            return False
        done = subprocess.run(
            [dist.java, "-Xmx256m", *self._log4j(), "-cp", dist.classpath,
             "kafka.tools.StorageTool", "format", "-t", cluster_id,
             "-c", str(self.properties_path)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
            raise StackError(f"kafka: could not format {self.data_dir}:\n{tail}")
        return True

    def _log4j(self) -> list[str]:
        return [f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}"]

    def command(self, dist: KafkaDist) -> list[str]:
        """The broker's command line, heap bounded to ``heap_mb`` (GC flags as Kafka's scripts)."""
        return [
            dist.java,
            f"-Xms{min(self.heap_mb, 256)}m", f"-Xmx{self.heap_mb}m",
            "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
            *self._log4j(),
            "-cp", dist.classpath, "kafka.Kafka", str(self.properties_path),
        ]  # fmt: skip
