"""Settings from environment variables (and an optional `.env` file)."""

from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./data/conflict-events.db"


class Settings(BaseSettings):
    """Every knob of the service, read once at start-up."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    reads_require_key: bool = False
    cors_origins: str = "*"
    cache_max_age: int = 60
    max_body_bytes: int = 52_428_800
    compression: bool = True
    compression_min_bytes: int = 1024
    gzip_level: int = Field(default=3, ge=1, le=9)
    gzip_stream_level: int = Field(default=1, ge=1, le=9)
    log_format: Literal["plain", "json"] = "plain"
    # Links and Location headers: absolute on this URL (which may carry a path prefix), or
    # relative references when it is empty; never built from the request's Host header.
    public_url: str = ""
    # Host header values served (comma-separated; `*.example.org` matches any subdomain);
    # empty: any host. /healthz, /readyz and /metrics answer whatever the Host.
    allowed_hosts: str = ""

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
    def is_embedded_default(self) -> bool:
        """True for the embedded SQLite database that `serve` creates and fills itself."""
        return self.database_url == DEFAULT_DATABASE_URL


@lru_cache
def get_settings() -> Settings:
    return Settings()
