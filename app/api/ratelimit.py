"""Rate limits: requests per key (or per client address) and failed authentications per address.

Two fixed-window limits, counted in a shared store (`app.ratelimit.stores`) so that every worker
process sees the same counts:

- `default`: `RATE_LIMIT_PER_MINUTE` requests per API key, or per client address for a request
  without a key this process has seen accepted. A bearer token is bucketed by its SHA-256, so the
  middleware never looks a key up; a token not yet seen accepted counts against the address,
  otherwise a client could dodge the limit by sending a new made-up token on every public read.
- `auth-failures`: `AUTH_FAILURES_PER_MINUTE` answers of 401 per client address. Once an address
  is over, it gets 429 before its request is looked at, for the rest of the window — a correct
  key included, or the limit would still tell a guesser which guess was right.

Over a limit the answer is 429 problem+json with `Retry-After`; every answer that passes
through here carries the `RateLimit` and `RateLimit-Policy` fields of
draft-ietf-httpapi-ratelimit-headers-10 (structured fields, `"default";r=599;t=42`).
`/healthz`, `/readyz` and `/metrics` are not limited: probes and scrapers must never be told
to wait.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Callable
from functools import lru_cache

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem
from app.ratelimit.stores import CounterStore

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
WINDOW_SECONDS = 60
DEFAULT, AUTH_FAILURES = "default", "auth-failures"
# a bound on the keys this process remembers as accepted; past it, the memory starts over
VERIFIED_KEYS_MAX = 10_000

LIMITED = Counter(
    "conflict_events_rate_limited",
    "Requests answered 429 by the rate limits, by the policy that refused them.",
    ["policy"],
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(setting: str) -> list[Network] | None:
    """`FORWARDED_ALLOW_IPS` as networks: `*` (every peer, returned as None) or a comma list
    of addresses and CIDRs. A malformed entry fails at start-up, not on a request."""
    entries = [entry.strip() for entry in setting.split(",") if entry.strip()]
    if "*" in entries:
        return None
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


class ClientAddress:
    """The client's address: the socket peer, or — when the peer is a trusted proxy — the
    right-most `X-Forwarded-For` entry that is not a trusted proxy itself (entries left of it
    were written by the client and prove nothing). IPv6 addresses count per /64, the block one
    subscriber usually holds."""

    def __init__(self, trusted: str) -> None:
        networks = trusted_networks(trusted)
        self.trust_everyone = networks is None
        self.networks = networks or []
        self.is_trusted = lru_cache(maxsize=4096)(self._is_trusted)
        self.bucket = lru_cache(maxsize=65536)(self._bucket)

    def _is_trusted(self, host: str) -> bool:
        if self.trust_everyone:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    @staticmethod
    def _bucket(host: str) -> str:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host[:80]  # not an address (`testclient`, a proxy's odd entry): as it is
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped:
                return str(address.ipv4_mapped)
            return str(ipaddress.IPv6Network((address, 64), strict=False))
        return host

    def __call__(self, scope: Scope) -> str:
        client = scope.get("client")
        peer = client[0] if client else ""
        if (self.networks or self.trust_everyone) and self.is_trusted(peer):
            forwarded = [value for name, value in scope["headers"] if name == b"x-forwarded-for"]
            if forwarded:
                hops = [hop.strip() for hop in b",".join(forwarded).decode("latin-1").split(",")]
                hops = [hop for hop in hops if hop]
                for hop in reversed(hops):
                    if not self.is_trusted(hop):
                        return self.bucket(hop)
                if hops:  # every hop is a trusted proxy: the first one is the client
                    return self.bucket(hops[0])
        return self.bucket(peer)


def bearer_hash(scope: Scope) -> str | None:
    """SHA-256 of the bearer token, if the request sends one."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            token = token.strip()
            if scheme.lower() == b"bearer" and token:
                return hashlib.sha256(token).hexdigest()
            return None
    return None


class RateLimitMiddleware:
    """Counts each request before the app sees it; answers 429 over a limit; adds the
    RateLimit fields to every answer it lets through. One store call per request (two for a
    401), and nothing else that waits."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: CounterStore,
        requests_per_window: int,
        auth_failures_per_window: int,
        forwarded_allow_ips: str,
        window_seconds: int = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.store = store
        self.limit = requests_per_window
        self.auth_limit = auth_failures_per_window
        self.client_address = ClientAddress(forwarded_allow_ips)
        self.window_seconds = window_seconds
        self.clock = clock
        self.verified: dict[str, None] = {}
        policies = []
        if self.limit:
            policies.append(f'"{DEFAULT}";q={self.limit};w={window_seconds}')
        if self.auth_limit:
            policies.append(f'"{AUTH_FAILURES}";q={self.auth_limit};w={window_seconds}')
        self.policy_header = (b"ratelimit-policy", ", ".join(policies).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            if scope["type"] == "lifespan":
                await self.app(scope, self._closing_store_on_shutdown(receive), send)
            else:
                await self.app(scope, receive, send)
            return
        now = self.clock()
        window_start = int(now // self.window_seconds) * self.window_seconds
        reset = max(1, math.ceil(window_start + self.window_seconds - now))
        address = self.client_address(scope)
        key_hash = bearer_hash(scope)
        keyed = key_hash is not None and key_hash in self.verified
        failures_bucket = f"f:{address}"
        counts = await self.store.update(
            window_start,
            self.window_seconds,
            [f"k:{key_hash}" if keyed else f"a:{address}"] if self.limit else [],
            [failures_bucket] if self.auth_limit else [],
        )
        hits = counts[0] if self.limit else 0
        failures = counts[-1] if self.auth_limit else 0

        if self.auth_limit and failures >= self.auth_limit:
            await self._refuse(
                scope,
                receive,
                send,
                AUTH_FAILURES,
                f"more than {self.auth_limit} failed authentications in {self.window_seconds} s from "
                f"this address (AUTH_FAILURES_PER_MINUTE); try again in {reset} s",
                self._remaining(hits, failures, reset, refused=AUTH_FAILURES),
                reset,
            )
            return
        if self.limit and hits > self.limit:
            whose = "API key" if keyed else "address"
            await self._refuse(
                scope,
                receive,
                send,
                DEFAULT,
                f"more than {self.limit} requests in {self.window_seconds} s from this {whose} "
                f"(RATE_LIMIT_PER_MINUTE); try again in {reset} s",
                self._remaining(hits, failures, reset, refused=DEFAULT),
                reset,
            )
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                failed = 0
                if message["status"] == 401:
                    if key_hash is not None:
                        self.verified.pop(key_hash, None)  # revoked since
                    if self.auth_limit:  # counted before the client can read the answer
                        await self.store.update(window_start, self.window_seconds, [failures_bucket])
                        failed = 1
                headers = message.setdefault("headers", [])
                headers.append((b"ratelimit", self._remaining(hits, failures + failed, reset)))
                headers.append(self.policy_header)
            await send(message)

        await self.app(scope, receive, send_with_limits)
        # the app names the key it accepted (HEAD's copy of the scope has handed it back by now)
        if key_hash is not None and not keyed and scope.get("state", {}).get("key_name"):
            if len(self.verified) >= VERIFIED_KEYS_MAX:
                self.verified.clear()
            self.verified[key_hash] = None

    def _remaining(self, hits: int, failures: int, reset: int, refused: str | None = None) -> bytes:
        """The `RateLimit` field: what is left of each policy in this window."""
        items = []
        if self.limit:
            left = 0 if refused == DEFAULT else max(0, self.limit - hits)
            items.append(f'"{DEFAULT}";r={left};t={reset}')
        if self.auth_limit:
            left = 0 if refused == AUTH_FAILURES else max(0, self.auth_limit - failures)
            items.append(f'"{AUTH_FAILURES}";r={left};t={reset}')
        return ", ".join(items).encode()

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        policy: str,
        detail: str,
        remaining: bytes,
        reset: int,
    ) -> None:
        LIMITED.labels(policy).inc()
        kind = "rate-limited" if policy == DEFAULT else "too-many-auth-failures"
        response = problem(
            429,
            detail,
            kind=kind,
            headers={
                "Retry-After": str(reset),
                "RateLimit": remaining.decode(),
                "RateLimit-Policy": self.policy_header[1].decode(),
            },
        )
        await response(scope, receive, send)

    def _closing_store_on_shutdown(self, receive: Receive) -> Receive:
        async def receive_and_close() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.store.close()
            return message

        return receive_and_close
