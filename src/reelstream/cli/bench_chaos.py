"""``reelstream bench chaos``: the fault scenarios of the test suite against the running stack."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import typer

from reelstream.cli._common import console, fail

__all__ = ["app", "service_hosts", "outcome_table"]

_COLUMNS = ("scenario", "sent", "stored", "learned", "dead-lettered", "lost", "duplicated",
            "worker exits", "recover s", "reported during the fault")


def outcome_table(outcomes):  # noqa: ANN001, ANN201 - Outcome list → rich Table
    """One row per scenario (sent counts valid and bad messages)."""
    from rich.table import Table

    table = Table(title="chaos: one worker per scenario, counted by event id")
    for column in _COLUMNS:
        table.add_column(column, justify="left" if column in ("scenario", _COLUMNS[-1]) else "right")
    for r in outcomes:
        if r.skipped:
            table.add_row(r.scenario, *[""] * 8, f"skipped: {r.skipped}")
            continue
        table.add_row(
            r.scenario, f"{r.sent + r.bad:,}", f"{r.stored:,}", f"{r.learned:,}",
            f"{r.dead_lettered} / {r.bad}", f"{r.lost:,}", f"{r.duplicated:,}",
            str(r.worker_exits), "—" if r.recover_s is None else f"{r.recover_s:.1f}",
            (r.degraded or "")[:70],
        )
    return table


def service_hosts(settings) -> dict[str, str]:  # noqa: ANN001 - Settings, imported lazily
    """The host of each service the scenarios touch."""
    from psycopg.conninfo import conninfo_to_dict

    kafka = settings.kafka_bootstrap_servers.split(",")[0].strip().rsplit(":", 1)[0]
    postgres = conninfo_to_dict(settings.postgres_dsn).get("host") or "localhost"
    return {
        "kafka": kafka,
        "redis": urlsplit(settings.redis_url).hostname or "localhost",
        "postgres": str(postgres),
    }


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "") or host.startswith("/"):  # a unix socket is local too
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


app = typer.Typer()


@app.command("chaos")
def chaos(
    scenario: list[str] = typer.Option(
        [], "--scenario", "-s", help="Run only these (repeatable); default: all."
    ),
    outage: float = typer.Option(15.0, "--outage", min=1, help="Seconds a service stays down."),
    events: int = typer.Option(3000, "--events", min=10, help="Valid events per scenario."),
    yes: bool = typer.Option(False, "--yes", help="Allow services on non-loopback hosts."),
) -> None:
    """Inject faults (poison messages, Redis/PostgreSQL down, processor killed, corrupt
    checkpoint, broker restarted, bad champion) with a worker of its own, and count by
    event identity what was stored, learned, dead-lettered, lost or duplicated. Outages
    stop and restart services of the embedded stack (skipped for services it does not
    manage); the champion scenario needs a reachable model registry."""
    from benchmarks.chaos import SCENARIOS, Chaos, run_scenario
    from reelstream.demo import log_dir
    from reelstream.settings import get_settings
    from reelstream.stack import EmbeddedStack

    settings = get_settings()
    unknown = [s for s in scenario if s not in SCENARIOS]
    if unknown:
        fail(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    hosts = service_hosts(settings)
    console.print(
        f"targets: kafka {settings.kafka_bootstrap_servers}, redis {settings.redis_url}, "
        f"postgres {settings.postgres_dsn} (a scratch schema, topics and key prefix, "
        "removed afterwards); outages stop and start the embedded services",
        highlight=False,
    )
    remote = {name: host for name, host in hosts.items() if not _is_loopback(host)}
    if remote and not yes:
        fail(
            "refusing to inject faults into non-loopback services "
            f"({', '.join(f'{n} at {h}' for n, h in remote.items())}); pass --yes to proceed"
        )
    stack = EmbeddedStack(settings)
    target = Chaos(settings, stack, log_dir(settings), outage_s=outage, events=events)
    outcomes = []
    for name in scenario or list(SCENARIOS):
        console.print(f"running {name} …", highlight=False)
        outcomes.append(run_scenario(name, target))
    console.print(outcome_table(outcomes))
    if any(not r.ok for r in outcomes if not r.skipped):
        raise typer.Exit(1)
