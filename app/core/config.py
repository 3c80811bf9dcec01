"""Settings from environment variables (and an optional `.env` file)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./data/conflict-events.db"


class Settings(BaseSettings):
    """Every knob of the service, read once at start-up."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    reads_require_key: bool = False
    cors_origins: str = "*"
    cache_max_age: int = 60
    # encoded timeline, facet, list-page and single-read answers each worker keeps per data
    # version (app/kit/answers.py); 0 computes every answer afresh
    answer_cache_bytes: int = Field(default=67_108_864, ge=0)
    max_body_bytes: int = 52_428_800
    compression: bool = True
    compression_min_bytes: int = 1024
    gzip_level: int = Field(default=3, ge=1, le=9)
    gzip_stream_level: int = Field(default=1, ge=1, le=9)
    log_format: Literal["plain", "json"] = "plain"
    # rate limits (app.api.ratelimit): 0 turns a limit off
    rate_limit_per_minute: int = Field(default=600, ge=0)
    auth_failures_per_minute: int = Field(default=30, ge=0)
    rate_limit_store: Literal["auto", "redis", "database", "memory"] = "auto"
    redis_url: str | None = None
    # the peers whose X-Forwarded-For is believed (uvicorn reads the same variable, same default)
    forwarded_allow_ips: str = "127.0.0.1"
    # Links and Location headers: absolute on this URL (which may carry a path prefix), or
    # relative references when it is empty; never built from the request's Host header.
    public_url: str = ""
    # Host header values served (comma-separated; `*.example.org` matches any subdomain);
    # empty: any host. /healthz, /readyz and /metrics answer whatever the Host.
    allowed_hosts: str = ""
    # A request body must have arrived whole this many seconds after the app first reads it
    # (one deadline for the whole body, not an idle time per chunk): otherwise 408, and the
    # connection closes.
    body_timeout: float = Field(default=30, gt=0)
    # uvicorn's limits, applied by `conflict-events serve` (and so by the container): more
    # connections and tasks at once than `limit_concurrency` per worker get a 503; an idle
    # keep-alive connection closes after `timeout_keep_alive` seconds; with the h11 HTTP
    # implementation, request line and headers may not exceed `h11_max_incomplete_event_size`.
    # `auto` is httptools (installed with uvicorn[standard]), which bounds no header size
    http_implementation: Literal["auto", "h11", "httptools"] = "auto"
    limit_concurrency: int = Field(default=1000, ge=1)
    timeout_keep_alive: int = Field(default=5, ge=1)
    h11_max_incomplete_event_size: int = Field(default=16_384, ge=1024)
    # Read replicas (app.db.replicas): comma-separated PostgreSQL URLs that serve reads; one
    # that is down, or lags more than `max_replica_lag` seconds behind the primary, is skipped.
    # Each process checks every replica every `replica_check_interval` seconds.
    database_read_url: str = ""
    max_replica_lag: float = Field(default=10, gt=0)
    replica_check_interval: float = Field(default=1, gt=0)
    # `transaction`: DATABASE_URL is a pooler in transaction pooling mode (PgBouncer): psycopg
    # prepares no statements, and LISTEN (which needs a session of its own) goes to
    # DATABASE_LISTEN_URL only.
    database_pooler: Literal["none", "transaction"] = "none"
    # where the change feed LISTENs for commits; empty: DATABASE_URL, unless behind a pooler
    database_listen_url: str = ""
    # the change feed's push: /v1/changes?wait= is capped at `feed_wait_max` seconds, one SSE
    # stream stays open at most `feed_stream_max` seconds (the client resumes with
    # Last-Event-ID); waiters check the feed every `feed_poll_interval` seconds on SQLite
    # (PostgreSQL wakes them with NOTIFY and checks every 5 s besides)
    feed_wait_max: float = Field(default=60, ge=0, le=60)
    feed_stream_max: float = Field(default=300, gt=0)
    feed_poll_interval: float = Field(default=0.5, gt=0)
    # how often each server process looks for stored event forms that writes made pending
    # (app.kit.stored), in seconds; 0: never (then `conflict-events db refresh-forms` does it,
    # and exports build what is missing). It rebuilds them once a batch (1,000) is pending, or
    # one has waited `stored_forms_delay` seconds.
    stored_forms_interval: float = Field(default=1, ge=0)
    stored_forms_delay: float = Field(default=60, ge=0)

    @field_validator("public_url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("PUBLIC_URL must be an absolute http(s) URL without query or fragment")
        return value.rstrip("/")

    @property
    def read_url_list(self) -> list[str]:
        return [url.strip() for url in self.database_read_url.split(",") if url.strip()]

    @property
    def listen_url(self) -> str | None:
        """Where LISTEN goes: DATABASE_LISTEN_URL, else DATABASE_URL when it is PostgreSQL and
        no transaction pooler is in between (a pooler hands each transaction any server
        connection, so a LISTEN there hears nothing)."""
        if self.database_listen_url:
            return self.database_listen_url
        if self.database_url.startswith("postgresql") and self.database_pooler == "none":
            return self.database_url
        return None

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def allowed_host_list(self) -> list[str]:
        return [host.strip().lower() for host in self.allowed_hosts.split(",") if host.strip()]

    @property
    def compression_options(self) -> dict[str, Any]:
        """Keyword arguments of CompressionMiddleware (outside HEAD handling, inside CORS)."""
        return {
            "enabled": self.compression,
            "min_bytes": self.compression_min_bytes,
            "level": self.gzip_level,
            "stream_level": self.gzip_stream_level,
        }

    @property
    def rate_limited(self) -> bool:
        return bool(self.rate_limit_per_minute or self.auth_failures_per_minute)

    @property
    def rate_limit_store_kind(self) -> Literal["redis", "database", "memory"]:
        """`auto`: Redis when REDIS_URL is set, else PostgreSQL, else this process's memory
        (SQLite is usually one process; `RATE_LIMIT_STORE=database` shares it between several)."""
        if self.rate_limit_store != "auto":
            return self.rate_limit_store
        if self.redis_url:
            return "redis"
        return "database" if self.database_url.startswith("postgresql") else "memory"

    @model_validator(mode="after")
    def _redis_store_needs_its_url(self) -> Settings:
        if self.rate_limit_store == "redis" and not self.redis_url:
            raise ValueError("RATE_LIMIT_STORE=redis needs REDIS_URL")
        return self

    @property
    def is_embedded_default(self) -> bool:
        """True for the embedded SQLite database that `serve` creates and fills itself."""
        return self.database_url == DEFAULT_DATABASE_URL


@lru_cache
def get_settings() -> Settings:
    return Settings()
