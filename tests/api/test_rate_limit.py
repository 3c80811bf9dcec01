"""Rate limits through the whole app: 429 problem+json with Retry-After and the RateLimit fields,
the fields on every answer, keys and addresses counted apart, failed authentications, the client
address behind trusted proxies — with each store (memory, the database on both backends, Redis).

The window is fixed by a clock the tests hold (a window that starts in two minutes, so that
Redis keys expire in the future), so no test waits for a minute to pass or crosses one by
accident.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from app.api.ratelimit import ClientAddress, RateLimitMiddleware
from app.auth.keys import revoke_key
from app.core.config import get_settings
from app.db.session import transaction

REDIS_URL = "redis://127.0.0.1:6379/0"
STORES = ["memory", "database", "redis"]


class Clock:
    """Wall-clock seconds the test moves by hand, 10 s into a window that starts soon."""

    def __init__(self) -> None:
        self.now = (time.time() // 60) * 60 + 120 + 10

    def __call__(self) -> float:
        return self.now


def fresh_address() -> str:
    """An address no other test (nor an earlier run, in the shared Redis) has counted."""
    number = uuid.uuid4().int
    return f"198.18.{number % 256}.{(number >> 8) % 254 + 1}"


MakeClient = Callable[..., TestClient]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limited(database_url: str, monkeypatch: pytest.MonkeyPatch, clock: Clock) -> Iterator[MakeClient]:
    """Clients of an app with the limits on: `limited(per_minute=5, auth_failures=3, ...)`."""
    from app.main import create_app

    with ExitStack() as stack:

        def make(
            *,
            per_minute: int = 5,
            auth_failures: int = 3,
            store: str = "memory",
            forwarded_allow_ips: str = "",
            peer: str | None = None,
            redis_url: str = REDIS_URL,
            **env: str,
        ) -> TestClient:
            monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", str(per_minute))
            monkeypatch.setenv("AUTH_FAILURES_PER_MINUTE", str(auth_failures))
            monkeypatch.setenv("RATE_LIMIT_STORE", store)
            monkeypatch.setenv("FORWARDED_ALLOW_IPS", forwarded_allow_ips)
            if store == "redis":
                monkeypatch.setenv("REDIS_URL", redis_url)
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            get_settings.cache_clear()
            app = create_app()
            for middleware in app.user_middleware:
                if middleware.cls is RateLimitMiddleware:  # type: ignore[comparison-overlap]
                    middleware.kwargs["clock"] = clock
            client = TestClient(app, raise_server_exceptions=False, client=(peer or fresh_address(), 50000))
            return stack.enter_context(client)

        yield make


def policy(per_minute: int = 5, auth_failures: int = 3) -> str:
    return f'"default";q={per_minute};w=60, "auth-failures";q={auth_failures};w=60'


@pytest.mark.parametrize("store", STORES)
def test_over_the_limit_is_a_429_problem_with_retry_after_and_the_ratelimit_fields(
    limited: MakeClient, clock: Clock, store: str
) -> None:
    client = limited(per_minute=5, store=store)
    for left in (4, 3, 2, 1, 0):
        response = client.get("/v1/sources")
        assert response.status_code == 200
        assert response.headers["ratelimit"] == f'"default";r={left};t=50, "auth-failures";r=3;t=50'
        assert response.headers["ratelimit-policy"] == policy()
    refused = client.get("/v1/sources", headers={"X-Request-ID": "over-the-limit"})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["type"].endswith("/problems/rate-limited")
    assert body["title"] == "Too Many Requests" and body["status"] == 429
    assert "5 requests" in body["detail"] and "RATE_LIMIT_PER_MINUTE" in body["detail"]
    assert refused.headers["retry-after"] == "50"
    assert refused.headers["ratelimit"] == '"default";r=0;t=50, "auth-failures";r=3;t=50'
    assert refused.headers["ratelimit-policy"] == policy()
    assert refused.headers["x-request-id"] == "over-the-limit"

    clock.now += 45  # 5 s left of the window
    assert client.get("/v1/sources").headers["retry-after"] == "5"
    clock.now += 5  # the next window
    again = client.get("/v1/sources")
    assert again.status_code == 200
    assert again.headers["ratelimit"].startswith('"default";r=4;t=60')


def test_every_answer_of_a_limited_route_carries_the_fields_and_the_probes_none(limited: MakeClient) -> None:
    client = limited(per_minute=3)
    assert client.get("/v1/sources/999").status_code == 404
    assert "ratelimit" in client.get("/v1/sources/999").headers
    assert client.post("/v1/sources", json={}).status_code == 401
    assert client.get("/v1/sources").status_code == 429
    for probe in ("/healthz", "/readyz", "/metrics"):
        response = client.get(probe)
        assert response.status_code == 200, probe
        assert "ratelimit" not in response.headers and "ratelimit-policy" not in response.headers


@pytest.mark.parametrize("store", STORES)
def test_each_key_and_each_address_has_a_bucket_of_its_own(
    limited: MakeClient, make_key: Callable[[str, str], str], store: str
) -> None:
    """Reads need a key here, so the app checks every key (and learns which are real)."""
    client = limited(per_minute=3, auth_failures=0, store=store, READS_REQUIRE_KEY="true")
    first = {"Authorization": f"Bearer {make_key('first', 'read')}"}
    second = {"Authorization": f"Bearer {make_key('second', 'read')}"}
    # a key this process has not seen accepted counts against the address the first time
    assert client.get("/v1/sources", headers=first).headers["ratelimit"] == '"default";r=2;t=50'
    for left in (2, 1, 0):
        response = client.get("/v1/sources", headers=first)
        assert response.status_code == 200
        assert response.headers["ratelimit"] == f'"default";r={left};t=50'
    refused = client.get("/v1/sources", headers=first)
    assert refused.status_code == 429 and "this API key" in refused.json()["detail"]
    # the address and another key still have their own quota
    assert client.get("/v1/sources").status_code == 401  # no key: the address's second request
    assert client.get("/v1/sources", headers=second).headers["ratelimit"] == '"default";r=0;t=50'
    assert client.get("/v1/sources", headers=second).headers["ratelimit"] == '"default";r=2;t=50'
    address_refused = client.get("/v1/sources")
    assert address_refused.status_code == 429 and "this address" in address_refused.json()["detail"]
    # a key revoked since it was learnt: 401, and from then on the address's bucket again
    with transaction() as session:
        revoke_key(session, "second")
    assert client.get("/v1/sources", headers=second).status_code == 401
    assert client.get("/v1/sources", headers=second).status_code == 429


def test_made_up_tokens_on_public_reads_count_against_the_address(limited: MakeClient) -> None:
    """Public reads never check a key, so a new token per request must not mean a new quota."""
    client = limited(per_minute=3, auth_failures=0)
    statuses = [
        client.get("/v1/sources", headers={"Authorization": f"Bearer ce_{uuid.uuid4().hex}"}).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.parametrize("store", STORES)
def test_too_many_failed_authentications_close_the_address_for_the_window(
    limited: MakeClient, clock: Clock, make_key: Callable[[str, str], str], store: str
) -> None:
    address = fresh_address()
    client = limited(per_minute=100, auth_failures=3, store=store, peer=address)
    good = {"Authorization": f"Bearer {make_key('writer', 'write')}"}
    source = {"name": "Guarded", "kind": "ngo"}
    for left in (2, 1, 0):
        wrong = {"Authorization": f"Bearer ce_{uuid.uuid4().hex}"}
        response = client.post("/v1/sources", json=source, headers=wrong)
        assert response.status_code == 401
        assert response.headers["ratelimit"].endswith(f'"auth-failures";r={left};t=50')
    # over: refused before the request is looked at, the right key included (else the 429s
    # would tell a guesser which guess was right), and public reads too
    for headers in (good, {}):
        refused = client.post("/v1/sources", json=source, headers=headers)
        assert refused.status_code == 429
        assert refused.json()["type"].endswith("/problems/too-many-auth-failures")
        assert "AUTH_FAILURES_PER_MINUTE" in refused.json()["detail"]
        assert refused.headers["retry-after"] == "50"
        assert refused.headers["ratelimit"].endswith('"auth-failures";r=0;t=50')
    assert client.get("/v1/sources").status_code == 429
    # another address with the same key is not affected
    other = limited(per_minute=100, auth_failures=3, store=store)
    assert other.post("/v1/sources", json=source, headers=good).status_code == 201
    # the next window opens the address again
    clock.now += 60
    assert client.post("/v1/sources", json={"name": "Later", "kind": "ngo"}, headers=good).status_code == 201


def test_a_trusted_proxy_names_the_client_and_an_untrusted_peer_cannot(limited: MakeClient) -> None:
    behind_proxy = limited(per_minute=2, auth_failures=0, forwarded_allow_ips="10.0.0.0/8", peer="10.1.2.3")

    def via(client: TestClient, forwarded: str) -> int:
        return int(client.get("/v1/sources", headers={"X-Forwarded-For": forwarded}).status_code)

    client_address = fresh_address()
    # the right-most entry that is not a trusted proxy is the client; what it wrote left of
    # that (a made-up address) changes nothing
    assert via(behind_proxy, f"{client_address}, 10.9.9.9") == 200
    assert via(behind_proxy, f"6.6.6.6, {client_address}") == 200
    assert via(behind_proxy, f"7.7.7.7, {client_address}, 10.9.9.9") == 429
    assert via(behind_proxy, fresh_address()) == 200  # another client behind the same proxy

    direct = limited(per_minute=2, auth_failures=0, forwarded_allow_ips="10.0.0.0/8")
    statuses = [via(direct, fresh_address()) for _ in range(3)]
    assert statuses == [200, 200, 429]  # X-Forwarded-For from an untrusted peer is ignored


def test_one_limit_can_be_off(limited: MakeClient) -> None:
    client = limited(per_minute=0, auth_failures=2)
    for _ in range(5):
        assert client.get("/v1/sources").status_code == 200
    response = client.get("/v1/sources")
    assert response.headers["ratelimit-policy"] == '"auth-failures";q=2;w=60'
    assert response.headers["ratelimit"] == '"auth-failures";r=2;t=50'


def test_no_limits_no_fields(client: TestClient) -> None:
    """The suite's own settings turn both limits off: the middleware is not even installed."""
    response = client.get("/v1/sources")
    assert response.status_code == 200 and "ratelimit" not in response.headers


def test_429s_are_counted_and_logged_like_every_answer(
    limited: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    def sample(name: str, labels: dict[str, str]) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    client = limited(per_minute=1)
    before = sample(
        "conflict_events_requests_total", {"method": "GET", "route": "unmatched", "status": "429"}
    )
    refused_before = sample("conflict_events_rate_limited_total", {"policy": "default"})
    client.get("/v1/sources")
    logger = logging.getLogger("conflict_events")
    logger.addHandler(caplog.handler)
    try:
        assert client.get("/v1/sources", headers={"X-Request-ID": "counted-429"}).status_code == 429
    finally:
        logger.removeHandler(caplog.handler)
    after = sample("conflict_events_requests_total", {"method": "GET", "route": "unmatched", "status": "429"})
    assert after - before == 1
    assert sample("conflict_events_rate_limited_total", {"policy": "default"}) - refused_before == 1
    assert any(
        "429" in record.getMessage() and "counted-429" in record.getMessage() for record in caplog.records
    )


def test_while_redis_is_away_each_process_counts_for_itself(
    limited: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    errors_before = REGISTRY.get_sample_value(
        "conflict_events_rate_limit_store_errors_total", {"store": "redis"}
    )
    client = limited(per_minute=2, store="redis", redis_url="redis://127.0.0.1:1/0")
    logger = logging.getLogger("conflict_events")
    logger.addHandler(caplog.handler)
    try:
        statuses = [client.get("/v1/sources").status_code for _ in range(3)]
    finally:
        logger.removeHandler(caplog.handler)
    assert statuses == [200, 200, 429]
    warnings = [
        r.getMessage() for r in caplog.records if "rate limits: the redis store failed" in r.getMessage()
    ]
    assert len(warnings) == 1  # once per outage, not once per request
    errors_after = REGISTRY.get_sample_value(
        "conflict_events_rate_limit_store_errors_total", {"store": "redis"}
    )
    assert (errors_after or 0) - (errors_before or 0) == 1  # then it waits before trying again


def test_head_requests_teach_the_key_too(limited: MakeClient, make_key: Callable[[str, str], str]) -> None:
    client = limited(per_minute=2, auth_failures=0, READS_REQUIRE_KEY="true")
    key = {"Authorization": f"Bearer {make_key('header', 'read')}"}
    assert client.head("/v1/sources", headers=key).headers["ratelimit"] == '"default";r=1;t=50'
    assert client.head("/v1/sources", headers=key).headers["ratelimit"] == '"default";r=1;t=50'


def test_the_client_address_behind_proxies() -> None:
    def address(trusted: str, peer: str, *forwarded: str) -> str:
        headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
        return ClientAddress(trusted)({"client": (peer, 1), "headers": headers})

    assert address("", "192.0.2.1", "203.0.113.5") == "192.0.2.1"
    assert address("127.0.0.1", "127.0.0.1", "203.0.113.5") == "203.0.113.5"
    assert address("127.0.0.1, 10.0.0.0/8", "127.0.0.1", "203.0.113.5, 10.0.0.1", "10.0.0.2") == "203.0.113.5"
    assert address("10.0.0.0/8", "10.0.0.9", "10.0.0.1, 10.0.0.2") == "10.0.0.1"  # every hop a proxy
    assert address("*", "192.0.2.1", "203.0.113.5, 198.51.100.7") == "203.0.113.5"
    assert address("10.0.0.0/8", "10.0.0.9") == "10.0.0.9"  # a trusted peer that forwards nobody
    # IPv6 counts per /64; IPv4-mapped addresses as the IPv4 address they are
    assert address("", "2001:db8:1:2:aaaa::1") == address("", "2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert address("", "::ffff:192.0.2.1") == "192.0.2.1"
    with pytest.raises(ValueError):
        ClientAddress("10.0.0.0/33")
