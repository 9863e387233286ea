"""The API's edge (api/edge.py): 401 before the body is read, 413 over the body limit.

No backing service is needed: these requests are answered before any route runs (the app
is driven without its lifespan, so nothing is connected).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.deps import require_api_key
from api.edge import key_protected_routes
from api.main import create_app
from reelstream.settings import Settings

KEY = "edge-test-key"
LIMIT = 4096
WRITES = ["/ratings", "/ratings/batch"]


def make_settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, environment="test").model_copy(
        update={"api_key": SecretStr(KEY), "max_body_bytes": LIMIT, **overrides}
    )


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(make_settings())


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[TestClient]:
    yield TestClient(app)  # no lifespan: no broker, cache or database behind it


def call_without_body(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """Drive the app over raw ASGI with a ``receive`` that fails the test if it is called:
    whatever the app answers, it answered without reading the body."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the request body was read")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": headers, "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80), "app": app,
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body


@pytest.mark.parametrize("key", [None, b"wrong", b"", KEY.encode() + b"x", KEY[:-1].encode()])
@pytest.mark.parametrize("path", WRITES)
def test_a_write_without_the_right_key_is_401_before_the_body_is_read(
    app: Any, path: str, key: bytes | None
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"100")]
    if key is not None:
        headers.append((b"x-api-key", key))
    status, body = call_without_body(app, path, headers)
    assert status == 401
    assert b"API key" in body


def test_the_key_is_checked_before_the_body_limit(app: Any) -> None:
    """A huge body without a key gets 401, not 413: the key check needs no body, and an
    unauthenticated client learns nothing about the limits."""
    status, _ = call_without_body(app, "/ratings", [(b"content-length", b"%d" % (LIMIT * 100))])
    assert status == 401


def test_a_body_over_the_limit_is_413_before_it_is_read(app: Any) -> None:
    headers = [(b"x-api-key", KEY.encode()), (b"content-length", b"%d" % (LIMIT + 1))]
    status, body = call_without_body(app, "/ratings", headers)
    assert status == 413
    assert b"REELSTREAM_MAX_BODY_BYTES" in body and str(LIMIT).encode() in body


@pytest.mark.parametrize("path", WRITES)
def test_a_malformed_body_without_a_key_is_401_not_422(client: TestClient, path: str) -> None:
    response = client.post(path, content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "APIKey"
    assert response.json() == {"detail": "Missing or invalid API key (X-API-Key header)"}


def test_a_streamed_body_is_stopped_at_the_limit(app: Any) -> None:
    """No Content-Length (chunked): the body is read until it passes the limit, no further."""
    chunks_read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal chunks_read
        chunks_read += 1
        return {"type": "http.request", "body": b" " * 1024, "more_body": chunks_read < 64}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/ratings", "raw_path": b"/ratings", "root_path": "",
        "query_string": b"", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "app": app,
        "headers": [(b"x-api-key", KEY.encode()), (b"transfer-encoding", b"chunked"),
                    (b"content-type", b"application/json")],
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert b"REELSTREAM_MAX_BODY_BYTES" in sent[1]["body"]
    assert chunks_read == LIMIT // 1024 + 1  # the first chunk past the limit, not the rest


def settings_with_nothing_behind(**overrides: Any) -> Settings:
    """For an app that is started (lifespan) but reaches no service: every URL a closed port."""
    from api_testing import closed_port

    nowhere = f"127.0.0.1:{closed_port()}"
    return make_settings(
        kafka_bootstrap_servers=nowhere, redis_url=f"redis://{nowhere}/0",
        postgres_dsn=f"postgresql://x@{nowhere}/x", **overrides,
    )


def test_a_body_within_the_limit_reaches_validation() -> None:
    with TestClient(create_app(settings_with_nothing_behind())) as client:
        response = client.post(
            "/ratings/batch", content=b"[" + b" " * (LIMIT - 2) + b"]",
            headers={"X-API-Key": KEY, "Content-Type": "application/json"},
        )
    assert response.status_code == 422  # a bare list, not a batch: validated, not refused


def test_reads_need_no_key(client: TestClient) -> None:
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_unauthorized_writes_are_counted(client: TestClient) -> None:
    def count() -> float:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith('reelstream_api_events_rejected_total{reason="unauthorized"}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = count()
    client.post("/ratings", json={})
    assert count() == before + 1


def test_the_protected_routes_are_those_that_declare_the_key() -> None:
    app = create_app(make_settings())
    protected = key_protected_routes(app.routes, require_api_key)
    admin = ["/models/(?P<version>[^/]+)/promote", "/models/rollback"]
    catalogue = ["/movies", "/movies/(?P<movie_id>[0-9]+)", "/users/(?P<user_id>[^/]+)"]
    assert sorted(regex.pattern for regex, _ in protected) == sorted(
        f"^{path}$" for path in [*WRITES, *admin, *catalogue]
    )
    assert {frozenset(methods) for _, methods in protected} == {
        frozenset({"POST"}), frozenset({"PUT"}), frozenset({"DELETE"})}


def test_openapi_states_the_limits() -> None:
    app = create_app(make_settings(max_batch_size=250))
    schema = TestClient(app).get("/openapi.json").json()
    components = schema["components"]["schemas"]
    batch = components["RatingBatch"]
    assert batch["additionalProperties"] is False
    assert (batch["properties"]["events"]["minItems"], batch["properties"]["events"]["maxItems"]) == (1, 250)
    event = components["RatingEvent"]
    assert event["additionalProperties"] is False
    assert event["properties"]["rating"]["multipleOf"] == 0.5
    assert event["properties"]["timestamp"]["format"] == "date-time"
    for path in WRITES:
        responses = schema["paths"][path]["post"]["responses"]
        assert {"401", "413", "422", "503"} <= set(responses)
        assert str(LIMIT) in responses["413"]["description"]
    params = {
        p["name"]: p["schema"] for p in schema["paths"]["/users/{user_id}/ratings"]["get"]["parameters"]
    }
    assert params["offset"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1, "default": 0, "title": "Offset"}
    assert (params["limit"]["minimum"], params["limit"]["maximum"]) == (1, 1000)


@pytest.mark.parametrize(
    "body", [b"\x1f\x03l\x1d\xff\xfe=", b"[" * 100_000 + b"]" * 100_000], ids=["not_utf8", "too_deep"]
)
def test_an_undecodable_body_is_422_not_400(body: bytes) -> None:
    with TestClient(create_app(settings_with_nothing_behind(max_body_bytes=1024 * 1024))) as client:
        response = client.post(
            "/ratings", content=body, headers={"X-API-Key": KEY, "Content-Type": "application/json"}
        )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"
