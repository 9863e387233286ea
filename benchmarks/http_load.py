"""Load generators of the HTTP benchmarks: closed loop (each client sends its next request
when the previous one answered) and open loop (requests due at a fixed rate), on a minimal
keep-alive HTTP/1.1 client (or httpx), with the results as latency arrays."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CLIENTS", "HttpxClient", "LoadResult", "RawHttpClient", "closed_loop", "fixed_rate"]


@dataclass(frozen=True)
class LoadResult:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: np.ndarray

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if len(self.latencies_ms) else float("nan")

    @classmethod
    def combined(cls, parts: list[LoadResult]) -> LoadResult:
        """Rounds of one endpoint as one result (requests and seconds summed)."""
        return cls(
            parts[0].name,
            sum(p.requests for p in parts),
            sum(p.errors for p in parts),
            sum(p.seconds for p in parts),
            np.concatenate([p.latencies_ms for p in parts]),
        )


# Every worker coroutine has its own keep-alive connection: one shared httpx pool with many
# waiting requests costs httpcore time quadratic in the queue and would measure the client.
class RawHttpClient:
    """A minimal HTTP/1.1 keep-alive GET client on asyncio streams (loopback benchmarks).

    httpx spends about as much CPU per request as the servers under test; on a small machine
    that caps both measurements at the client's speed and hides the difference between them.
    This client costs a fraction of that. Responses must carry
    Content-Length (uvicorn's do).
    """

    def __init__(self, base_url: str) -> None:
        rest = base_url.split("://", 1)[-1]
        host, _, port = rest.partition(":")
        self.host, self.port = host, int(port or 80)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        return (await self.request("GET", path))[0]

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Send one request on the kept-alive connection; return (status, body)."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        head_lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        if body or method != "GET":
            head_lines.append(f"Content-Length: {len(body)}")
        head_lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        try:
            self._writer.write(("\r\n".join(head_lines) + "\r\n\r\n").encode() + body)
            head = await self._reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            content = await self._reader.readexactly(length)
        except BaseException:
            await self.aclose()  # the stream is in an unknown state: reconnect next time
            raise
        return status, content

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


class HttpxClient:
    def __init__(self, base_url: str) -> None:
        import httpx

        self._client = httpx.AsyncClient(  # plain http on loopback: no CA bundle per client
            base_url=base_url, timeout=10.0, limits=httpx.Limits(max_connections=1), verify=False
        )

    async def get(self, path: str) -> int:
        return (await self._client.get(path)).status_code

    async def aclose(self) -> None:
        await self._client.aclose()


CLIENTS = {"raw": RawHttpClient, "httpx": HttpxClient}


async def _connected_clients(
    base_url: str, paths: Callable[[], str], n: int, kind: str
) -> list[Any]:
    """``n`` clients, each with its connection already open (set-up is not measured)."""
    clients = [CLIENTS[kind](base_url) for _ in range(n)]
    await asyncio.gather(*(c.get(paths()) for c in clients))
    return clients


async def closed_loop(
    name: str, base_url: str, paths: Callable[[], str], concurrency: int,
    duration_s: float, max_requests: int, client_kind: str = "raw",
) -> LoadResult:
    """``concurrency`` clients, each sending its next request when the previous answered."""
    latencies: list[float] = []
    errors = 0
    issued = 0
    clients = await _connected_clients(base_url, paths, concurrency, client_kind)
    start = time.perf_counter()
    stop_at = start + duration_s

    async def worker(client: Any) -> None:
        nonlocal errors, issued
        try:
            while issued < max_requests and time.perf_counter() < stop_at:
                issued += 1
                t0 = time.perf_counter()
                ok = await _answered(client, paths())
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += not ok
        finally:
            await client.aclose()

    await asyncio.gather(*(worker(c) for c in clients))
    seconds = time.perf_counter() - start
    return LoadResult(name, len(latencies), errors, seconds, np.asarray(latencies))


async def _answered(client: Any, path: str) -> bool:
    """One GET: True on a 200, False on any other status or a failed connection."""
    import httpx

    try:
        return await client.get(path) == 200
    except (OSError, asyncio.IncompleteReadError, ValueError, httpx.HTTPError):
        return False


async def fixed_rate(
    name: str, base_url: str, paths: Callable[[], str], rate: float, duration_s: float,
    connections: int = 64, client_kind: str = "raw",
) -> LoadResult:
    """Open loop: request i is due at ``i / rate``; latency counts from when it was due.

    Due requests queue for ``connections`` keep-alive connections; time spent queued (server
    too slow to keep up) is part of the latency, so it cannot hide.
    """
    total = int(rate * duration_s)
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[float | None] = asyncio.Queue()
    clients = await _connected_clients(base_url, paths, connections, client_kind)
    start = time.perf_counter()

    async def worker(client: Any) -> None:
        nonlocal errors
        try:
            while (due := await queue.get()) is not None:
                ok = await _answered(client, paths())
                latencies.append((time.perf_counter() - due) * 1000)
                errors += not ok
        finally:
            await client.aclose()

    workers = [asyncio.create_task(worker(c)) for c in clients]
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(due)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    seconds = time.perf_counter() - start
    return LoadResult(name, len(latencies), errors, seconds, np.asarray(latencies))
