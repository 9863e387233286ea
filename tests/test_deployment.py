"""Static checks of the production deployment: Dockerfile, .dockerignore, docker-compose.yml
and .env.example. No Docker engine is needed (none exists on the development machines).

Compose variables are resolved the way ``docker compose`` does (``${VAR}``, ``${VAR:-default}``,
``${VAR:?error}``, ``$$``) with the values of ``.env.example``, so what is checked is what a
fresh ``cp .env.example .env && docker compose up`` would get.

The commands the project image runs are checked against the real CLI (typer's click tree), not
a list: a compose command that names a sub-command or option the CLI does not have fails here.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml
from pydantic import SecretStr, ValidationError

import reelstream.cli
from reelstream.settings import EMBEDDED_DEFAULTS, PLACEHOLDER_API_KEY, Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

#: Settings every reelstream service must set explicitly: their defaults point at the embedded
#: loopback stack or are the development placeholder (checked below to be derived correctly).
MUST_SET = {
    "api_key", "postgres_dsn", "kafka_bootstrap_servers", "redis_url", "mlflow_tracking_uri"
}

# --------------------------------------------------------------------------------------------
# helpers: .env parsing, compose interpolation, compose/Dockerfile model
# --------------------------------------------------------------------------------------------

_VAR = re.compile(r"\$(\$)|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}")


def compose_text_without_comments() -> str:
    """The compose file minus its comment lines (compose does not interpolate comments)."""
    lines = COMPOSE_FILE.read_text().splitlines()
    return "\n".join(ln for ln in lines if not ln.lstrip().startswith("#"))


def parse_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f"{path.name}:{number}: {line!r}"
        assert key not in values, f"{path.name}:{number}: {key} set twice"
        values[key] = value.strip().strip("'\"")
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution (the subset this project uses, which is what it allows)."""

    def sub(match: re.Match[str]) -> str:
        if match.group(1):  # "$$" -> a literal "$" for the container's shell
            return "$"
        name, op, arg = match.group(2), match.group(3), match.group(4)
        value = env.get(name)
        if op in (":-", "-"):
            if value is None or (op == ":-" and value == ""):
                return interpolate(arg, env)
            return value
        if op in (":?", "?"):
            if value is None or (op == ":?" and value == ""):
                raise KeyError(f"required variable {name} is not set: {arg}")
            return value
        if value is None:
            raise KeyError(f"variable {name} has no value and no default")
        return value

    return _VAR.sub(sub, text)


def resolve(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: resolve(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, env) for value in node]
    return node


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...]
        env = dict(item.partition("=")[::2] for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def as_argv(value: Any) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return parse_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def raw_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def compose(raw_compose: dict[str, Any], env_example: dict[str, str]) -> dict[str, Any]:
    return resolve(raw_compose, env_example)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def project_image_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Services built from this repository's Dockerfile, default (`runtime`) target."""
    return {
        name: svc
        for name, svc in services.items()
        if isinstance(svc.get("build"), dict)
        and svc["build"].get("context") in (".", "./")
        and svc["build"].get("target", "runtime") == "runtime"
    }


def reelstream_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Project-image services that run the image's ENTRYPOINT (the `reelstream` script)."""
    return {n: s for n, s in project_image_services(services).items() if "entrypoint" not in s}


def airflow_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in services.items()
        if isinstance(svc.get("build"), dict) and svc["build"].get("target") == "airflow"
    }


def is_group(command: Any) -> bool:
    # duck-typed: typer >= 0.2x ships its own copy of click (typer._click), mlflow uses click
    return callable(getattr(command, "get_command", None)) and callable(
        getattr(command, "list_commands", None)
    )


def resolve_click_command(root: Any, argv: list[str]) -> tuple[list[str], str | None]:
    """Walk ``argv`` down ``root``'s (click-style) sub-command tree; parse the leaf's options.

    Returns (the sub-command path, an error or None). Nothing is invoked.
    """
    path: list[str] = []
    command, args = root, list(argv)
    ctx = root.context_class(root, info_name=root.name)
    while is_group(command):
        if not args or args[0].startswith("-"):
            return path, f"{' '.join(path) or root.name!r} needs a sub-command, got {args}"
        name = args.pop(0)
        sub = command.get_command(ctx, name)
        if sub is None:
            known = sorted(command.list_commands(ctx))
            return path + [name], f"no sub-command {name!r} under {path or [root.name]}: {known}"
        path.append(name)
        command = sub
        ctx = command.context_class(command, info_name=name, parent=ctx)
    try:
        command.make_context(path[-1] if path else root.name, args, parent=ctx.parent)
    except Exception as exc:  # click's / typer's UsageError, BadParameter, ...
        if not hasattr(exc, "format_message"):
            raise
        return path, f"{' '.join(path)} {args}: {exc.format_message()}"
    return path, None


# --------------------------------------------------------------------------------------------
# compose: structure, variables, secrets
# --------------------------------------------------------------------------------------------


def test_compose_parses_with_expected_services(services: dict[str, dict[str, Any]]) -> None:
    expected = {
        "kafka", "redis", "postgres", "mlflow", "migrate", "worker", "api", "ui", "replay",
        "airflow-init", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
    }  # fmt: skip
    assert expected <= set(services), f"missing services: {sorted(expected - set(services))}"
    assert services["replay"].get("profiles") == ["replay"]
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, name


def test_every_interpolated_variable_is_in_env_example(env_example: dict[str, str]) -> None:
    text = compose_text_without_comments()
    used = {m.group(2) for m in _VAR.finditer(text) if m.group(2)}
    required = {m.group(2) for m in _VAR.finditer(text) if m.group(3) in (":?", "?")}
    assert used, "the compose file interpolates nothing from .env?"
    assert not used - set(env_example), f"not in .env.example: {sorted(used - set(env_example))}"
    # the required secrets of the brief are required, not defaulted
    assert {"REELSTREAM_API_KEY", "POSTGRES_PASSWORD"} <= required
    unused = set(env_example) - used
    assert not unused, f".env.example lists variables compose never uses: {sorted(unused)}"


def test_no_secret_is_written_in_the_compose_file(raw_compose: dict[str, Any]) -> None:
    secret_name = re.compile(r"PASSWORD|SECRET|API_KEY|FERNET|TOKEN", re.I)
    required_ref = re.compile(r"^\$\{[A-Z0-9_]+:\?[^}]*\}$")
    for name, svc in raw_compose["services"].items():
        for key, value in env_of(svc).items():
            if secret_name.search(key) and not key.endswith("_FILE"):
                assert required_ref.match(value), f"{name}: {key}={value!r}, not ${{VAR:?...}}"
            for url in re.findall(r"\w+(?:\+\w+)?://\S+", value):
                userinfo = urlsplit(url).netloc.rpartition("@")[0]
                if ":" in userinfo:
                    password = userinfo.split(":", 1)[1]
                    assert required_ref.match(password), f"{name}: {key} embeds a password"
    text = compose_text_without_comments()
    for literal in ("change-me", PLACEHOLDER_API_KEY):
        assert literal not in text


def test_production_environment_refuses_the_placeholder_key(
    services: dict[str, dict[str, Any]], env_example: dict[str, str]
) -> None:
    for name in reelstream_services(services):
        assert env_of(services[name]).get("REELSTREAM_ENVIRONMENT") == "production", name
    # .env.example ships the development key: unedited, every reelstream process refuses it
    assert env_example["REELSTREAM_API_KEY"] == PLACEHOLDER_API_KEY
    with pytest.raises(ValidationError, match="placeholder"):
        key = env_example["REELSTREAM_API_KEY"]
        Settings(_env_file=None, environment="production", api_key=key)
    for key, value in env_example.items():
        if re.search(r"PASSWORD|SECRET|FERNET", key):
            assert "change-me" in value, f".env.example must not ship a usable {key}"


# --------------------------------------------------------------------------------------------
# compose: commands are real sub-commands
# --------------------------------------------------------------------------------------------


def test_project_services_run_real_reelstream_subcommands(
    services: dict[str, dict[str, Any]],
) -> None:
    cli = typer.main.get_command(reelstream.cli.app)
    runs = reelstream_services(services)
    assert {"worker", "api", "ui", "migrate", "replay"} <= set(runs), sorted(runs)
    problems = {}
    for name, svc in runs.items():
        argv = as_argv(svc.get("command"))
        assert argv, f"{name}: no command (the image's default is `reelstream --help`)"
        _, error = resolve_click_command(cli, argv)
        if error:
            problems[name] = error
    assert not problems, "compose commands the CLI does not have:\n" + json.dumps(
        problems, indent=1
    )


def test_the_cli_walker_rejects_what_the_cli_does_not_have() -> None:
    cli = typer.main.get_command(reelstream.cli.app)
    assert resolve_click_command(cli, ["no-such-command"])[1]
    some_group = next(name for name, cmd in cli.commands.items() if is_group(cmd))  # e.g. db
    assert resolve_click_command(cli, [some_group])[1]  # a group without its sub-command
    assert resolve_click_command(cli, [some_group, "no-such-sub"])[1]
    leaf = next(n for n, c in cli.commands.items() if not is_group(c))
    assert resolve_click_command(cli, [leaf, "--no-such-option"])[1]


@pytest.mark.slow
def test_mlflow_service_runs_a_valid_mlflow_server(services: dict[str, dict[str, Any]]) -> None:
    from mlflow.cli import cli as mlflow_cli  # slow import (~20 s of CPU): not in fast tests

    svc = services["mlflow"]
    assert as_argv(svc["entrypoint"]) == ["mlflow"]
    path, error = resolve_click_command(mlflow_cli, as_argv(svc["command"]))
    assert error is None and path == ["server"], error
    uri = urlsplit(env_of(svc)["MLFLOW_BACKEND_STORE_URI"])
    assert uri.scheme == "postgresql+psycopg"  # psycopg 3 is what the image has
    assert uri.hostname == "postgres" and uri.path == "/mlflow"


@pytest.mark.slow
def test_airflow_services_run_valid_airflow_commands(services: dict[str, dict[str, Any]]) -> None:
    from airflow.cli.cli_parser import get_parser

    parser = get_parser()
    runs = airflow_services(services)
    commands = {name: as_argv(svc.get("command")) for name, svc in runs.items()}
    expected = {"api-server", "scheduler", "dag-processor"}
    assert expected <= {argv[0] for argv in commands.values() if argv}, commands
    for name, argv in commands.items():
        if "entrypoint" in runs[name]:
            continue  # airflow-init: a shell script, checked in test_airflow_setup
        parser.parse_args(argv)  # SystemExit on an unknown command or option


# --------------------------------------------------------------------------------------------
# compose: settings
# --------------------------------------------------------------------------------------------


def test_every_reelstream_variable_is_a_settings_field(
    services: dict[str, dict[str, Any]], env_example: dict[str, str]
) -> None:
    fields = {f"REELSTREAM_{name.upper()}" for name in Settings.model_fields}
    where = {key: ".env.example" for key in env_example}
    for name, svc in services.items():
        where.update({key: name for key in env_of(svc)})
    unknown = {k: w for k, w in where.items() if k.startswith("REELSTREAM_") and k not in fields}
    assert not unknown, f"not fields of Settings (typo, or a missing setting): {unknown}"


@pytest.mark.parametrize("service", ["worker", "api", "ui", "migrate", "replay"])
def test_service_environment_is_valid_for_settings(
    services: dict[str, dict[str, Any]], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resolved environment (with a real key instead of the placeholder) validates."""
    env = env_of(services[service])
    env["REELSTREAM_API_KEY"] = "a-real-production-key"
    settings = Settings(_env_file=None, **{k[11:].lower(): v for k, v in env.items()
                                           if k.startswith("REELSTREAM_")})  # fmt: skip
    assert settings.environment == "production"
    assert settings.topic_partitions >= 1


def test_settings_without_production_defaults_are_set_for_worker_and_api(
    services: dict[str, dict[str, Any]],
) -> None:
    unsafe = {
        name
        for name, field in Settings.model_fields.items()
        if name in EMBEDDED_DEFAULTS or isinstance(field.default, SecretStr)
    }
    assert MUST_SET <= unsafe, "Settings changed: re-derive the fields production must set"
    service_names = set(services)
    for name in ("worker", "api"):
        env = env_of(services[name])
        for field in sorted(unsafe):
            key = f"REELSTREAM_{field.upper()}"
            assert env.get(key), f"{name}: {key} is not set"
            value = env[key]
            assert value != EMBEDDED_DEFAULTS.get(field), f"{name}: {key} is the embedded default"
            assert not re.search(r"127\.0\.0\.1|localhost", value), f"{name}: {key} is loopback"
        # every URL names a service of this file
        for field in EMBEDDED_DEFAULTS:
            value = env[f"REELSTREAM_{field.upper()}"]
            for server in value.split(","):
                host = urlsplit(server if "://" in server else f"x://{server}").hostname
                assert host in service_names, f"{name}: {field} points at unknown host {host!r}"
    api_env = env_of(services["api"])
    api_argv = as_argv(services["api"]["command"])
    host = api_argv[api_argv.index("--host") + 1] if "--host" in api_argv else None
    assert "0.0.0.0" in (host, api_env.get("REELSTREAM_API_HOST")), "API must listen on 0.0.0.0"


# --------------------------------------------------------------------------------------------
# compose: ports, health, ordering, scaling, volumes
# --------------------------------------------------------------------------------------------


def published_ports(svc: dict[str, Any]) -> list[tuple[str, int, str]]:
    out = []
    for port in svc.get("ports") or []:
        if isinstance(port, dict):
            if port.get("published") is not None:
                out.append((port.get("host_ip", "0.0.0.0"), int(port["published"]),
                            port.get("protocol", "tcp")))  # fmt: skip
            continue
        spec, _, proto = str(port).partition("/")
        parts = spec.split(":")
        if len(parts) == 1:
            continue  # container port only: an ephemeral host port, no collision
        ip = parts[0] if len(parts) == 3 else "0.0.0.0"
        out.append((ip, int(parts[-2]), proto or "tcp"))
    return out


def test_published_host_ports_do_not_collide(services: dict[str, dict[str, Any]]) -> None:
    seen: dict[tuple[int, str], str] = {}
    for name, svc in services.items():
        for ip, port, proto in published_ports(svc):
            other = seen.get((port, proto))
            assert other is None, f"host port {port}/{proto} published by {other} and {name}"
            seen[(port, proto)] = name
    assert {"api", "ui", "mlflow", "airflow-api-server"} <= set(seen.values())
    # the stores stay on the compose network
    for name in ("postgres", "redis", "worker"):
        assert not published_ports(services[name]), f"{name} must not publish a host port"


def test_ui_talks_only_to_the_api_and_is_health_checked(services: dict[str, dict[str, Any]]) -> None:
    ui = services["ui"]
    env = env_of(ui)
    assert env["REELSTREAM_UI_API_URL"] == "http://api:8000"
    for credential in ("REELSTREAM_REDIS_URL", "REELSTREAM_POSTGRES_DSN",
                       "REELSTREAM_MLFLOW_TRACKING_URI", "REELSTREAM_KAFKA_BOOTSTRAP_SERVERS"):
        assert credential not in env, f"the web app must not get {credential}"
    argv = as_argv(ui["command"])
    assert argv[0] == "ui" and argv[argv.index("--host") + 1] == "0.0.0.0"
    port = argv[argv.index("--port") + 1]
    assert [p for _, p, _ in published_ports(ui)] and port in " ".join(ui["healthcheck"]["test"])
    assert "/_stcore/health" in " ".join(ui["healthcheck"]["test"])
    assert ui["depends_on"]["api"]["condition"] == "service_healthy"


def test_every_dependency_is_healthchecked_or_one_shot(services: dict[str, dict[str, Any]]) -> None:
    depended_on = set()
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        assert isinstance(deps, dict), f"{name}: depends_on needs conditions (long syntax)"
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert dep != name
            target = services[dep]
            condition = (spec or {}).get("condition")
            depended_on.add(dep)
            if condition == "service_healthy":
                test = (target.get("healthcheck") or {}).get("test")
                assert test and test != ["NONE"], f"{name} waits for {dep}: no healthcheck"
            elif condition == "service_completed_successfully":
                assert target.get("restart", "no") == "no", f"{dep} is one-shot: restart: 'no'"
                assert "deploy" not in target
            else:
                pytest.fail(f"{name} -> {dep}: condition {condition!r} does not wait for readiness")
            if target.get("profiles"):
                assert set(target["profiles"]) <= set(svc.get("profiles") or []), (
                    f"{name} depends on {dep}, which only exists with a profile"
                )
    assert {"postgres", "kafka", "redis", "mlflow", "migrate"} <= depended_on
    for name in ("worker", "api", "replay"):  # the replay also stores the movies
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert as_argv(services["migrate"]["command"]) == ["db", "upgrade"]


def test_worker_is_scalable(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    for key in ("container_name", "hostname", "ports"):
        assert key not in worker, f"worker has {key}: `--scale worker=N` would fail or collide"
    replicas = worker["deploy"]["replicas"]
    assert isinstance(replicas, int) and replicas >= 2


def test_ratings_topic_has_at_least_as_many_partitions_as_workers(
    services: dict[str, dict[str, Any]],
) -> None:
    replicas = services["worker"]["deploy"]["replicas"]
    kafka_env, init = env_of(services["kafka"]), services["kafka-init"]
    init_env = env_of(init)
    worker_env = env_of(services["worker"])
    partitions = int(worker_env["REELSTREAM_TOPIC_PARTITIONS"])
    assert partitions >= replicas
    # topics are created by kafka-init, with the workers' partition count and topic names
    assert "KAFKA_AUTO_CREATE_TOPICS_ENABLE" not in kafka_env  # the shared template's "false"
    assert kafka_properties()["auto.create.topics.enable"] == "false"
    assert int(init_env["REELSTREAM_TOPIC_PARTITIONS"]) == partitions
    for field in ("ratings_topic", "dlq_topic"):
        key = f"REELSTREAM_{field.upper()}"
        expected = worker_env.get(key, Settings.model_fields[field].default)
        assert init_env[key] == expected, f"kafka-init: {init_env[key]!r}, worker: {expected!r}"
    script = " ".join(as_argv(init.get("command")))
    assert '--topic "$REELSTREAM_RATINGS_TOPIC" --partitions "$REELSTREAM_TOPIC_PARTITIONS"' in script
    assert "--create" in script and "--if-not-exists" in script
    for name in ("worker", "api", "replay"):
        cond = services[name]["depends_on"]["kafka-init"]["condition"]
        assert cond == "service_completed_successfully", name


def kafka_properties() -> dict[str, str]:
    """The broker template shared by the embedded broker and compose's ``kafka`` service."""
    from reelstream.stack.kafka_node import TEMPLATE

    lines = [line.strip() for line in TEMPLATE.read_text().splitlines()]
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_kafka_topics_get_the_embedded_stacks_settings(
    services: dict[str, dict[str, Any]],
) -> None:
    """kafka-init states the same topic settings as ``reelstream stack up`` (topic_configs)."""
    from reelstream.kafka import topic_configs

    script = " ".join(as_argv(services["kafka-init"].get("command")))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    for topic in (settings.ratings_topic, settings.dlq_topic):
        for key, value in topic_configs(settings, topic).items():
            assert f"--config {key}={value}" in script, (topic, key, value)
    assert f"--replication-factor {settings.topic_replication_factor}" in script


def test_kafka_is_single_node_kraft_on_the_official_image(
    services: dict[str, dict[str, Any]],
) -> None:
    from reelstream.stack.kafka_dist import KAFKA_VERSION
    from reelstream.stack.kafka_node import TEMPLATE

    kafka = services["kafka"]
    env = env_of(kafka)
    # the version the embedded broker runs, reading the same server.properties template
    assert kafka["image"] == f"apache/kafka:{KAFKA_VERSION}"
    assert services["kafka-init"]["image"] == kafka["image"]
    template = next(m for m in mounts(kafka) if m["target"] == "/mnt/shared/config")
    assert (ROOT / template["source"]).resolve() == TEMPLATE.parent
    per_node = {"node.id", "process.roles", "listeners", "advertised.listeners", "log.dirs",
                "controller.quorum.voters", "inter.broker.listener.name",
                "listener.security.protocol.map"}  # fmt: skip
    overridden = {
        k.removeprefix("KAFKA_").lower().replace("_", ".") for k in env if k.startswith("KAFKA_")
    } - {"heap.opts"}
    assert overridden <= per_node, f"settings belong in the shared template: {overridden - per_node}"
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in key for key in env)
    voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
    assert len(voters) == 1 and voters[0].startswith(f"{env['KAFKA_NODE_ID']}@kafka:")
    for key in ("offsets.topic.replication.factor", "default.replication.factor"):
        assert kafka_properties()[key] == "1", key
    advertised = dict(
        item.split("://", 1)[::-1] for item in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    )  # {"kafka:9092": "INTERNAL", ...}
    bootstrap = env_of(services["worker"])["REELSTREAM_KAFKA_BOOTSTRAP_SERVERS"]
    assert bootstrap in advertised, f"workers use {bootstrap}, broker advertises {advertised}"
    assert any(m["target"] == "/var/lib/kafka/data" for m in mounts(kafka))


def mounts(svc: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for volume in svc.get("volumes") or []:
        if isinstance(volume, dict):
            out.append({"source": volume.get("source", ""), "target": volume["target"]})
        else:
            source, _, rest = volume.partition(":")
            out.append({"source": source, "target": rest.split(":")[0]})
    return out


def test_stores_persist_on_volumes(compose: dict[str, Any]) -> None:
    services, declared = compose["services"], set(compose.get("volumes") or {})
    for name, svc in services.items():
        for mount in mounts(svc):
            source = mount["source"]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: bind mount {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
    targets = {n: {m["target"]: m["source"] for m in mounts(svc)} for n, svc in services.items()}
    assert targets["postgres"]["/var/lib/postgresql/data"] in declared
    assert targets["redis"]["/data"] in declared
    redis_cmd = as_argv(services["redis"]["command"])
    assert redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes"
    assert targets["mlflow"]["/var/lib/mlflow/artifacts"] in declared
    mlflow_cmd = as_argv(services["mlflow"]["command"])
    destination = mlflow_cmd[mlflow_cmd.index("--artifacts-destination") + 1]
    assert destination == "/var/lib/mlflow/artifacts"


def test_postgres_holds_the_three_databases(services: dict[str, dict[str, Any]]) -> None:
    pg_env = env_of(services["postgres"])
    init_dir = next(
        m["source"] for m in mounts(services["postgres"])
        if m["target"] == "/docker-entrypoint-initdb.d"
    )  # fmt: skip
    init_text = "".join(p.read_text() for p in sorted((ROOT / init_dir).iterdir()))
    created = re.findall(r"for db in ([\w ]+);", init_text)[0].split()
    databases = {pg_env["POSTGRES_DB"], *created}
    users = {
        "reelstream": env_of(services["worker"])["REELSTREAM_POSTGRES_DSN"],
        "mlflow": env_of(services["mlflow"])["MLFLOW_BACKEND_STORE_URI"],
        "airflow": env_of(services["airflow-scheduler"])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"],
    }
    used = {}
    for who, dsn in users.items():
        url = urlsplit(dsn)
        assert url.hostname == "postgres" and url.username == pg_env["POSTGRES_USER"], who
        used[who] = url.path.lstrip("/")
    assert len(set(used.values())) == 3, f"one database each: {used}"
    assert set(used.values()) <= databases, f"{used} vs created {databases}"


def test_airflow_setup(services: dict[str, dict[str, Any]]) -> None:
    runs = airflow_services(services)
    expected = {"airflow-init", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor"}
    assert expected <= set(runs)
    secrets = set()
    for name, svc in runs.items():
        env = env_of(svc)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql"), name
        secrets.add((env["AIRFLOW__API_AUTH__JWT_SECRET"], env["AIRFLOW__CORE__FERNET_KEY"]))
        assert any(
            m["source"] == "./airflow/dags" and m["target"] == "/opt/airflow/dags"
            for m in mounts(svc)
        ), f"{name}: DAGs not mounted"
        if name != "airflow-init":
            cond = svc["depends_on"]["airflow-init"]["condition"]
            assert cond == "service_completed_successfully", name
    assert len(secrets) == 1, "every Airflow component needs the same JWT secret and Fernet key"
    init_script = " ".join(as_argv(runs["airflow-init"]["command"]))
    assert "airflow db migrate" in init_script
    scheduler_env = env_of(runs["airflow-scheduler"])
    api_url = urlsplit(scheduler_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert api_url.hostname == "airflow-api-server" and api_url.hostname in services


# --------------------------------------------------------------------------------------------
# Dockerfile and .dockerignore
# --------------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def dockerfile_stages() -> list[dict[str, Any]]:
    args, stages = {}, []
    for keyword, rest in dockerfile_instructions():
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = rest.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), words[0])
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append({"image": image, "name": alias, "body": []})
        elif stages:
            stages[-1]["body"].append((keyword, rest))
    return stages


def test_dockerfile_is_multi_stage_non_root_with_the_console_script() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "multi-stage build expected"
    names = {s["name"] for s in stages}
    final = stages[-1]
    assert final["name"] == "runtime", "the default (last) stage must be the reelstream image"

    def effective(stage: dict[str, Any], keyword: str) -> str | None:
        """The last ``keyword`` of ``stage`` or, if none, of the stage it is built FROM."""
        for kw, rest in reversed(stage["body"]):
            if kw == keyword:
                return rest
        parent = next((s for s in stages if s["name"] == stage["image"]), None)
        return effective(parent, keyword) if parent else None

    base_images = set()
    for stage in stages:
        s = stage
        while s["image"] in names:
            s = next(x for x in stages if x["name"] == s["image"])
        base_images.add(s["image"])
    assert base_images == {"python:3.11-slim-bookworm"}, base_images

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert json.loads(effective(final, "ENTRYPOINT")) == ["reelstream"]
    assert "reelstream" in scripts
    for stage in (final, next(s for s in stages if s["name"] == "airflow")):
        user = effective(stage, "USER")
        assert user and user.split(":")[0] not in ("root", "0"), f"{stage['name']}: USER {user}"
    # the project is installed once per image, in a builder, with the croniter override
    builder_runs = " ".join(rest for s in stages if s["name"].startswith("builder")
                            for kw, rest in s["body"] if kw == "RUN")  # fmt: skip
    assert "--override" in builder_runs and "croniter>=6.2.2" in builder_runs
    # the processes read params.yaml from their working directory: it must be in both images
    for stage in (final, next(s for s in stages if s["name"] == "airflow")):
        body = stage["body"]
        workdir = [rest for kw, rest in body if kw == "WORKDIR"][-1]
        copies = [rest.split() for kw, rest in body if kw == "COPY" and "--from=" not in rest]
        assert any(c[0] == "params.yaml" and c[-1] in ("./", ".", f"{workdir}/params.yaml",
                   f"{workdir}/") for c in copies), f"{stage['name']}: params.yaml not in WORKDIR"
    final_runs = " ".join(rest for kw, rest in final["body"] if kw == "RUN")
    assert "pip install" not in final_runs and "uv " not in final_runs
    assert any(kw == "COPY" and "--from=builder " in rest + " " for kw, rest in final["body"])


def dockerignore_patterns() -> list[str]:
    lines = [ln.strip() for ln in DOCKERIGNORE.read_text().splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


def dockerignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        candidates = [path] + [str(p) for p in Path(path).parents if str(p) != "."]
        if any(fnmatch.fnmatch(c, pattern) or fnmatch.fnmatch(c, pattern.removeprefix("**/"))
               for c in candidates):  # fmt: skip
            ignored = not negate
    return ignored


def test_dockerignore_keeps_state_out_and_sources_in() -> None:
    patterns = dockerignore_patterns()
    for path in (".venv", ".reelstream", ".git", "data", ".env", "tests", ".pytest_cache",
                 "src/reelstream/__pycache__"):  # fmt: skip
        assert dockerignored(path, patterns), f"{path} should be in .dockerignore"
    # whatever the Dockerfile COPYs from the context exists and is not ignored
    copied = []
    for keyword, rest in dockerfile_instructions():
        if keyword == "COPY" and "--from=" not in rest:
            copied += [w for w in rest.split()[:-1] if not w.startswith("--")]
    assert {"pyproject.toml", "src", "api", "producers", "stream_processor"} <= set(copied)
    for source in copied:
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
        assert not dockerignored(source, patterns), f"Dockerfile copies {source}, but it is ignored"


def test_compose_builds_existing_dockerfile_targets(services: dict[str, dict[str, Any]]) -> None:
    stage_names = {s["name"] for s in dockerfile_stages()}
    images = {}
    for name, svc in services.items():
        build = svc.get("build")
        if isinstance(build, dict):
            assert build.get("target") in stage_names, f"{name}: unknown target"
            images.setdefault(svc["image"], set()).add(build["target"])
    assert all(len(targets) == 1 for targets in images.values()), images


# --------------------------------------------------------------------------------------------
# monitoring: worker metrics and health checks, Prometheus and its alert rules
# --------------------------------------------------------------------------------------------

PROMETHEUS_DIR = ROOT / ".docker" / "prometheus"
#: Exported by the worker's status loop (reelstream.streaming.metrics): the liveness gauges.
WORKER_STATUS_METRICS = {
    "reelstream_worker_consumer_lag",
    "reelstream_worker_newest_learned_event_age_seconds",
    "reelstream_worker_heartbeat_timestamp_seconds",
    "reelstream_worker_degraded",
}
_SAMPLE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
}


def exported_metric_names() -> set[str]:
    """Every sample name the worker and the API can export (from their real registries)."""
    import prometheus_client

    import reelstream.streaming.metrics  # noqa: F401 - registers the worker's metrics
    from reelstream.serving.metrics import ApiMetrics

    names = set()
    for registry in (prometheus_client.REGISTRY, ApiMetrics().registry):
        for family in registry.collect():
            for suffix in _SAMPLE_SUFFIXES.get(family.type, ("",)):
                names.add(family.name + suffix)
    return names


def alert_rules() -> list[dict[str, Any]]:
    rules = []
    for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        data = yaml.safe_load(path.read_text())
        for group in data["groups"]:
            assert group["name"] and group["rules"], path
            rules.extend(group["rules"])
    return rules


def promql_metrics(expr: str) -> set[str]:
    return set(re.findall(r"\b(reelstream_[a-z0-9_]+|up)\b(?=\s*[{\[)\s]|$)", expr))


def test_every_worker_exposes_metrics_and_is_health_checked(
    services: dict[str, dict[str, Any]],
) -> None:
    worker = services["worker"]
    port = int(env_of(worker)["REELSTREAM_WORKER_METRICS_PORT"])
    assert port > 0
    assert str(port) in [str(p) for p in worker.get("expose") or []]
    assert not published_ports(worker)
    check = worker["healthcheck"]
    test = as_argv(check["test"])
    assert test[:2] == ["CMD", "reelstream"], test
    _, error = resolve_click_command(typer.main.get_command(reelstream.cli.app), test[2:])
    assert error is None, error
    assert test[2] == "worker-health"
    # a stale heartbeat makes it unhealthy within interval * retries, after a start grace
    assert check["start_period"] and check["retries"] >= 2


def test_prometheus_scrapes_the_api_and_every_worker_replica(
    services: dict[str, dict[str, Any]],
) -> None:
    prom = services["prometheus"]
    assert prom["image"].startswith("prom/prometheus:v") and not prom["image"].endswith("latest")
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in prom["volumes"]}
    assert mounts["/etc/prometheus"] == "./.docker/prometheus"
    args = as_argv(prom["command"])
    assert "--config.file=/etc/prometheus/prometheus.yml" in args
    assert [ip for ip, _, _ in published_ports(prom)] == ["127.0.0.1"]  # no auth: loopback
    assert (prom.get("healthcheck") or {}).get("test")

    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    for pattern in config["rule_files"]:
        assert list(PROMETHEUS_DIR.glob(pattern)), f"rule_files {pattern} matches nothing"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    api_argv = as_argv(services["api"]["command"])
    api_port = int(api_argv[api_argv.index("--port") + 1])
    worker_port = int(env_of(services["worker"])["REELSTREAM_WORKER_METRICS_PORT"])
    for job_name, service, port in (
        ("reelstream-api", "api", api_port),
        ("reelstream-worker", "worker", worker_port),
    ):
        [sd] = jobs[job_name]["dns_sd_configs"]  # every replica, found by the service name
        assert (sd["names"], sd["type"], sd["port"]) == ([service], "A", port), job_name
        assert jobs[job_name].get("metrics_path", "/metrics") == "/metrics"


def test_alert_rules_cover_lag_heartbeat_and_dead_letters() -> None:
    rules = alert_rules()
    by_name = {rule["alert"]: rule for rule in rules}
    assert len(by_name) == len(rules), "alert names must be unique"
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert promql_metrics(rule["expr"]), rule["alert"]
    exprs = [" ".join(rule["expr"].split()) for rule in rules]
    assert any("sum(reelstream_worker_consumer_lag) >" in e for e in exprs)
    assert any("time() - reelstream_worker_heartbeat_timestamp_seconds >" in e for e in exprs)
    assert "absent(reelstream_worker_heartbeat_timestamp_seconds)" in exprs
    assert any("rate(reelstream_worker_dead_letters_total[" in e for e in exprs)
    assert any('up{job="reelstream-worker"} == 0' in e for e in exprs)


def test_alert_rules_use_only_metrics_the_services_export() -> None:
    used = set().union(*(promql_metrics(rule["expr"]) for rule in alert_rules())) - {"up"}
    missing = used - exported_metric_names()
    if missing and missing <= WORKER_STATUS_METRICS:
        pytest.xfail(f"the worker does not export {sorted(missing)} in this checkout")
    assert not missing, f"alert rules use metrics nobody exports: {sorted(missing)}"


def test_the_metric_name_pattern_finds_what_rules_use() -> None:
    expr = 'sum(rate(reelstream_worker_dead_letters_total[5m])) > 1 and up{job="x"} == 0'
    assert promql_metrics(expr) == {"reelstream_worker_dead_letters_total", "up"}
    assert promql_metrics("absent(reelstream_worker_heartbeat_timestamp_seconds)") == {
        "reelstream_worker_heartbeat_timestamp_seconds"
    }


def test_promtool_accepts_the_config_and_the_alerts_fire_as_written() -> None:
    promtool = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not installed (Debian: apt-get install prometheus)")
    for args in (
        ["check", "config", str(PROMETHEUS_DIR / "prometheus.yml")],
        ["test", "rules", str(PROMETHEUS_DIR / "tests" / "alerts.test.yml")],
    ):
        result = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# docker compose itself, when available
# --------------------------------------------------------------------------------------------


def test_docker_compose_config_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client on this machine")
    version = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if version.returncode != 0:
        pytest.skip(f"the docker compose plugin is missing: {version.stderr.strip()[:120]}")
    result = subprocess.run(
        [docker, "compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE),
         "--profile", "replay", "--profile", "tools", "config", "--quiet"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
