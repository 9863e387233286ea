"""The open-loop load of ``bench freshness``: posts at a fixed rate, samples timed until the
user's list names them (see :mod:`benchmarks.freshness`)."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from benchmarks.freshness import FreshnessConfig

__all__ = ["open_loop", "BENCH_API_KEY"]

BENCH_API_KEY = "bench-freshness-key"
_HALF_STEPS = [x / 2 for x in range(1, 11)]  # 0.5 .. 5.0


async def open_loop(
    api_url: str,
    config: FreshnessConfig,
    sample_users: list[int],
    background_users: list[int],
    movies: list[int],
    rng: random.Random,
) -> tuple[int, int, float, list[float], int, int, list[float]]:
    """Post at ``config.rate``/s, every ``sample_every``-th a sample timed until it shows;
    return (posted, failed, seconds, freshness ms, missed, polls, post latency ms)."""
    from benchmarks.http_load import RawHttpClient

    total = min(config.max_posts, int(config.rate * config.duration_s))
    headers = {"X-API-Key": BENCH_API_KEY, "Content-Type": "application/json"}
    post_pool: asyncio.Queue[RawHttpClient] = asyncio.Queue()
    poll_pool: asyncio.Queue[RawHttpClient] = asyncio.Queue()
    for pool in (post_pool, poll_pool):
        for _ in range(config.connections):
            client = RawHttpClient(api_url)
            await client.request("GET", "/popular?n=1")  # connect before measuring
            pool.put_nowait(client)
    free_sample_users = asyncio.Queue()
    for user in sample_users:
        free_sample_users.put_nowait(user)

    posted = failed = missed = polls = 0
    freshness: list[float] = []
    post_latency: list[float] = []

    def body(user_id: int, event_id: str) -> bytes:
        return orjson.dumps(
            {
                "event_id": event_id,
                "user_id": user_id,
                "movie_id": rng.choice(movies),
                "rating": rng.choice(_HALF_STEPS),
            }
        )

    async def post(user_id: int, event_id: str) -> bool:
        nonlocal posted, failed
        client = await post_pool.get()
        t0 = time.perf_counter()
        try:
            status, _ = await client.request("POST", "/ratings", body(user_id, event_id), headers)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            status = 0
        finally:
            post_pool.put_nowait(client)
        post_latency.append((time.perf_counter() - t0) * 1000)
        if status == 202:
            posted += 1
            return True
        failed += 1
        return False

    async def sample() -> None:
        nonlocal missed, polls
        user_id = await free_sample_users.get()
        event_id = str(uuid.uuid4())
        marker = b'"last_event_id":"' + event_id.encode() + b'"'
        path = f"/users/{user_id}/recommendations?n=10"
        client = await poll_pool.get()
        try:
            sent = time.perf_counter()
            posting = asyncio.create_task(post(user_id, event_id))
            deadline = sent + config.sample_timeout_s
            seen_at = None
            while time.perf_counter() < deadline:  # poll from the moment the POST is sent
                try:
                    status, content = await client.request("GET", path)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    status, content = 0, b""
                polls += 1
                if status == 200 and marker in content:
                    seen_at = time.perf_counter()
                    break
                if posting.done() and not posting.result():
                    break  # not accepted: it will never show
                await asyncio.sleep(config.poll_interval_s)
            accepted = await posting
            if seen_at is not None and accepted:
                freshness.append((seen_at - sent) * 1000)
            else:
                missed += 1
        finally:
            poll_pool.put_nowait(client)
            free_sample_users.put_nowait(user_id)

    tasks: list[asyncio.Task[object]] = []
    start = time.perf_counter()
    for i in range(total):
        due = start + i / config.rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if i % config.sample_every == 0:
            tasks.append(asyncio.create_task(sample()))
        else:
            tasks.append(asyncio.create_task(post(rng.choice(background_users), str(uuid.uuid4()))))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - start
    for pool in (post_pool, poll_pool):
        while not pool.empty():
            await pool.get_nowait().aclose()
    return posted, failed, seconds, freshness, missed, polls, post_latency
