"""The API's pool of event-store connections (psycopg_pool) against the real PostgreSQL."""

from __future__ import annotations

import pytest

from reelstream.processes import free_port as closed_port
from reelstream.serving.store_pool import StorePool, StoreUnavailable
from reelstream.settings import Settings
from reelstream.store import upgrade


def test_loans_reuse_one_prepared_connection(stack: Settings) -> None:
    upgrade(stack.postgres_dsn)
    pool = StorePool(stack.postgres_dsn, size=2)
    try:
        with pool.store() as store:
            first_pid = store.connection.info.backend_pid
            # the staging tables a store needs exist on a pooled connection
            store.connection.execute("SELECT count(*) FROM _movies_in").fetchone()
        with pool.store() as store:
            assert store.connection.info.backend_pid == first_pid
        assert pool.ping()
        assert isinstance(pool.popular(3), list)
    finally:
        pool.close()


def test_a_broken_connection_is_unavailable_then_replaced(stack: Settings) -> None:
    pool = StorePool(stack.postgres_dsn, size=2)
    try:
        with pool.store() as killer:
            with pytest.raises(StoreUnavailable, match="PostgreSQL connection lost"):
                with pool.store() as victim:
                    victim_pid = victim.connection.info.backend_pid
                    assert victim_pid != killer.connection.info.backend_pid
                    killer.connection.execute("SELECT pg_terminate_backend(%s)", (victim_pid,))
                    victim.connection.execute("SELECT 1")
        for _ in range(3):  # the dead connection is never lent again
            with pool.store() as store:
                assert store.connection.info.backend_pid != victim_pid
                assert store.ping()
    finally:
        pool.close()


def test_unreachable_postgres_is_store_unavailable() -> None:
    pool = StorePool(f"postgresql://nobody@127.0.0.1:{closed_port()}/none", connect_timeout=1.0)
    try:
        with pytest.raises(StoreUnavailable, match="PostgreSQL unreachable"):
            with pool.store():
                pass
        assert pool.ping() is False
    finally:
        pool.close()
