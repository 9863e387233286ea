"""``reelstream db upgrade | counts``: the PostgreSQL event store's schema and contents."""

from __future__ import annotations

import typer

from reelstream.cli._common import console, fail

__all__ = ["app"]


app = typer.Typer(
    help="PostgreSQL event store: schema migrations and row counts.", no_args_is_help=True
)


@app.command("upgrade")
def upgrade_cmd() -> None:
    """Apply pending schema migrations (idempotent); print the ones applied. Needs PostgreSQL."""
    import psycopg

    from reelstream.settings import get_settings
    from reelstream.store import applied_migrations, upgrade

    dsn = get_settings().postgres_dsn
    try:
        applied = upgrade(dsn)
        current = applied_migrations(dsn)
    except psycopg.Error as exc:
        fail(f"PostgreSQL at {_safe(dsn)}: {exc}")
    for name in applied:
        console.print(f"applied {name}")
    if not applied:
        console.print(f"up to date ({current[-1] if current else 'no migrations'})")


@app.command("counts")
def counts_cmd() -> None:
    """Print the number of movies, ratings, users and worker checkpoints stored. Needs PostgreSQL."""
    import psycopg

    from reelstream.settings import get_settings
    from reelstream.store import EventStore

    dsn = get_settings().postgres_dsn
    try:
        with EventStore(dsn) as store:
            counts = store.counts()
    except psycopg.errors.UndefinedTable:
        fail("the schema is missing: run `reelstream db upgrade` first")
    except psycopg.Error as exc:
        fail(f"PostgreSQL at {_safe(dsn)}: {exc}")
    for table, count in counts.items():
        console.print(f"{table:<12}{count:>12,}")


def _safe(dsn: str) -> str:
    """The DSN without a password, for error messages."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - an unparsable DSN is shown as a placeholder
        return "<unparsable DSN>"
    params.pop("password", None)
    return make_conninfo(**params)  # type: ignore[arg-type]
