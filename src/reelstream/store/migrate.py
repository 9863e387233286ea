"""Versioned SQL migrations for the event store.

Files ``migrations/NNNN_name.sql`` are applied in name order, each in its own transaction
together with its row in ``schema_migrations``. The whole run holds a PostgreSQL advisory
lock, so concurrent ``upgrade`` calls (``stack up`` and a test, two workers) apply each file
exactly once. Tables are created in the first schema of the connection's ``search_path``.
"""

from __future__ import annotations

from importlib import resources

import psycopg

__all__ = ["upgrade", "available_migrations", "applied_migrations"]

#: Arbitrary constant identifying "reelstream schema migration" among advisory locks.
_LOCK_KEY = 0x5EE15_7EA


def available_migrations() -> list[tuple[str, str]]:
    """``(name, sql)`` of every shipped migration, in the order they apply."""
    folder = resources.files("reelstream.store") / "migrations"
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".sql")),
        key=lambda entry: entry.name,
    )
    if not files:  # e.g. a wheel built without the package data: fail loudly, not silently
        raise RuntimeError(f"no schema migrations found in {folder} (package data missing?)")
    return [(entry.name.removesuffix(".sql"), entry.read_text("utf-8")) for entry in files]


def applied_migrations(dsn: str) -> list[str]:
    """Names already applied to the database at ``dsn`` (empty when never upgraded)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return []
        return [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]


def upgrade(dsn: str) -> list[str]:
    """Apply the migrations not yet applied; return their names (empty when up to date)."""
    applied_now: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
            for name, sql in available_migrations():
                if name in done:
                    continue
                with conn.transaction():
                    conn.execute(sql)  # type: ignore[arg-type]  # trusted file, many statements
                    conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
                applied_now.append(name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now
