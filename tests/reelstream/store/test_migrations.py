import threading

import psycopg

from reelstream.store import applied_migrations, available_migrations, upgrade


def _tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema()"
        ).fetchall()
    return {r[0] for r in rows}


def test_upgrade_applies_every_migration_in_order_then_nothing(empty_postgres_dsn):
    names = [name for name, _ in available_migrations()]
    assert names == sorted(names) and names[0] == "0001_initial"

    assert upgrade(empty_postgres_dsn) == names
    assert applied_migrations(empty_postgres_dsn) == names
    assert {"movies", "ratings", "worker_checkpoints", "schema_migrations"} <= _tables(
        empty_postgres_dsn
    )
    assert upgrade(empty_postgres_dsn) == []
    assert applied_migrations(empty_postgres_dsn) == names


def test_concurrent_upgrades_apply_each_migration_once(empty_postgres_dsn):
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(upgrade(empty_postgres_dsn))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    applied = sorted(name for result in results for name in result)
    assert applied == [name for name, _ in available_migrations()]


def test_never_upgraded_database_reports_no_migrations(empty_postgres_dsn):
    assert applied_migrations(empty_postgres_dsn) == []
