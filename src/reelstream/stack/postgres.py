"""PostgreSQL: the binaries shipped in the ``pgserver`` wheel, on a TCP loopback port.

The cluster lives in ``STATE/postgres/data`` and persists across ``down``/``up`` (it is the
durable event store). Auth is ``trust`` and the server only listens on loopback, with no unix
socket. The bootstrap superuser is ``postgres``; ``up`` creates the role and database named in
``postgres_dsn`` (``reelstream``/``reelstream``) and applies the schema migrations.

PostgreSQL refuses to run as root; as root, the server runs as the ``pgserver`` system user,
exactly as ``pgserver.get_server`` does (created on first use, the data dir chowned to it).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from reelstream.processes import log_tail
from reelstream.stack.base import Service, StackError

__all__ = ["PostgresService", "pg_bin", "find_migrations"]

_ROOT_RUN_AS = "pgserver"


def _pginstall() -> Path:
    """``pgserver/pginstall``, found without importing pgserver (its import has side effects)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("pgserver is not installed (it ships the PostgreSQL binaries)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "-M", "-s", "/usr/sbin/nologin", name],
                       check=True, capture_output=True)  # fmt: skip
        return pwd.getpwnam(name)


def pg_bin(name: str) -> str:
    path = _pginstall() / "bin" / name
    if not path.is_file():
        raise StackError(f"{name} not found at {path} (is pgserver installed?)")
    return str(path)


def find_migrations() -> Callable[[str], object] | None:
    """The event store's ``upgrade(dsn)`` if ``reelstream.store`` provides one, else None.

    A store that exists but fails to import is an error, not a silent skip.
    """
    for module_name in ("reelstream.store", "reelstream.store.migrate"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # not written yet
            raise StackError(f"postgres: cannot import {module_name}: {exc}") from exc
        except ImportError as exc:
            raise StackError(f"postgres: cannot import {module_name}: {exc}") from exc
        upgrade = getattr(module, "upgrade", None)
        if callable(upgrade):
            return upgrade  # type: ignore[no-any-return]
    return None


class PostgresService(Service):
    name = "postgres"
    setting = "postgres_dsn"
    start_timeout_s = 30.0
    stop_signal = signal.SIGINT  # "fast" shutdown: does not wait for clients to disconnect

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "postgres" / "data"

    @property
    def user(self) -> str | None:
        return _ROOT_RUN_AS if os.geteuid() == 0 else None

    @property
    def _fast_unsafe(self) -> bool:
        """Tests trade crash-safety for speed (no fsync); the dev stack keeps it."""
        return self.settings.environment == "test"

    def _admin_conninfo(self, dbname: str = "postgres") -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "user": "postgres",
            "dbname": dbname,
            "connect_timeout": 3,
        }

    def _prepare_root(self) -> None:
        entry = _ensure_system_user(_ROOT_RUN_AS)
        # that user must be able to traverse to the data dir (pytest tmp dirs are 0700) ...
        for parent in self.data_dir.parents:
            mode = parent.stat().st_mode
            if mode & 0o005 != 0o005:
                parent.chmod(mode | 0o055)
        # ... and to read the wheel's files (bin, lib, share)
        subprocess.run(["chmod", "-R", "go+rX", str(_pginstall())], check=True)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)

    def prepare(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        if self.data_dir.exists():  # a half-done initdb from an earlier failure
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(parents=True, mode=0o700)
        if self.user:
            self._prepare_root()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        args = [pg_bin("initdb"), "-D", str(self.data_dir), "-U", "postgres",
                "--auth=trust", "--encoding=UTF8", "--locale=C"]  # fmt: skip
        if self._fast_unsafe:
            args.append("--no-sync")
        with open(self.log_path, "ab") as log:
            result = subprocess.run(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                user=self.user,
                cwd=self.data_dir.parent,
                timeout=120,
            )
        if result.returncode != 0:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise StackError(
                f"postgres: initdb failed (exit {result.returncode}); log {self.log_path}:\n"
                + log_tail(self.log_path)
            )

    def command(self) -> list[str]:
        cmd = [
            pg_bin("postgres"),
            "-D", str(self.data_dir),
            "-h", self.host,
            "-p", str(self.port),
            "-k", "",  # no unix socket: TCP on loopback only
        ]  # fmt: skip
        if self._fast_unsafe:
            cmd += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        return cmd

    def ready(self) -> bool:
        import psycopg

        with psycopg.connect(**self._admin_conninfo()) as conn:  # type: ignore[arg-type]
            return conn.execute("SELECT 1").fetchone() == (1,)

    def after_up(self) -> str | None:
        import psycopg
        from psycopg import sql

        parts = urlsplit(self.url)
        role = parts.username or "reelstream"
        dbname = parts.path.lstrip("/") or role
        with psycopg.connect(**self._admin_conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(sql.Identifier(role)))
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)
            ).fetchone():
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(dbname), sql.Identifier(role)
                    )
                )
        # ---- schema migrations: the single call site (reelstream.store owns the schema) ----
        upgrade = find_migrations()
        if upgrade is None:
            return "no migrations (reelstream.store.upgrade not available)"
        applied = upgrade(self.url)
        if isinstance(applied, list | tuple):
            return f"migrations applied: {', '.join(applied)}" if applied else "schema up to date"
        return "migrations applied"
