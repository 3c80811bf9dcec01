"""API keys: created by the CLI, stored only as SHA-256 hashes, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import Request
from sqlalchemy.orm import Session
from sqlmodel import col

from app.auth.model import ApiKey
from app.core.config import get_settings
from app.core.enums import KeyScope
from app.core.errors import Conflict, Forbidden, NotFound, Unauthorized
from app.db.base import utcnow
from app.db.session import session_factory

KEY_PREFIX = "ce_"
CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Changes made by the command line are recorded as `cli:<command>`; no key may look like one.
RESERVED_PREFIX = "cli:"
DURATION = re.compile(r"^(\d{1,5})([hdw])$")
DURATION_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_expiry(text: str, now: datetime | None = None) -> datetime:
    """When a key made now should expire: a duration (`12h`, `90d`, `2w`) or an RFC 3339
    timestamp with its offset (`2027-01-01T00:00:00Z`); a bare date is midnight UTC. It must lie
    in the future."""
    now = now or utcnow()
    text = text.strip()
    duration = DURATION.match(text)
    if duration:
        expires = now + int(duration[1]) * DURATION_UNITS[duration[2]]  # at most 99999w: no overflow
    else:
        try:
            expires = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"--expires {text!r} is neither a duration (12h, 90d, 2w) nor a timestamp "
                "(2027-01-01T00:00:00Z)"
            ) from None
        if "T" not in text.upper() and " " not in text:
            expires = expires.replace(tzinfo=UTC)
        elif expires.tzinfo is None:
            raise ValueError(f"--expires {text!r} needs a UTC offset (Z or +01:00)")
    if expires <= now:
        raise ValueError(f"--expires {text!r} is not in the future")
    try:
        return expires.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-00:01 is after the year 9999 in UTC
        raise ValueError(f"--expires {text!r} is after the year 9999 in UTC") from None


def create_key(session: Session, name: str, scope: KeyScope, expires_at: datetime | None = None) -> str:
    """Make a key; the caller shows it once, only its hash is kept."""
    if name.lower().startswith(RESERVED_PREFIX):
        raise Conflict(
            f"key names may not begin with {RESERVED_PREFIX!r}: the command line records itself so"
        )
    if session.scalar(sa.select(col(ApiKey.id)).where(col(ApiKey.name) == name)) is not None:
        raise Conflict(f"a key named {name!r} already exists")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, scope=scope.value, key_hash=hash_key(key), expires_at=expires_at))
    session.flush()
    return key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(sa.select(ApiKey).order_by(col(ApiKey.name))))


def revoke_key(session: Session, name: str) -> datetime:
    row = session.scalar(sa.select(ApiKey).where(col(ApiKey.name) == name))
    if row is None:
        raise NotFound(f"no key named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row.revoked_at


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization must be 'Bearer <key>'", headers=CHALLENGE)
    return token.strip()


def live_key(token: str) -> tuple[str, str] | None:
    """The name and scope of a live key, or None; an expired key raises Unauthorized. Lookup
    is by the key's SHA-256, then the stored hash is compared in constant time: the time taken
    depends on the hash of what was sent, never on how much of a real key it matches."""
    digest = hash_key(token)
    with session_factory()() as session:
        row = session.execute(
            sa.select(
                col(ApiKey.name),
                col(ApiKey.key_hash),
                col(ApiKey.scope),
                col(ApiKey.revoked_at),
                col(ApiKey.expires_at),
            ).where(col(ApiKey.key_hash) == digest)
        ).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, digest):
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise Unauthorized("expired API key", headers=CHALLENGE)
    return str(row.name), str(row.scope)


def _authenticate(request: Request) -> str:
    """The scope of the request's key; its name goes on the request for the request log and
    the change feed, both on the request for a second check to reuse."""
    cached: str | None = getattr(request.state, "key_scope", None)
    if cached is not None:
        return cached
    token = _bearer(request)
    if token is None:
        raise Unauthorized("this request needs an API key: Authorization: Bearer <key>", headers=CHALLENGE)
    found = live_key(token)
    if found is None:
        raise Unauthorized("unknown or revoked API key", headers=CHALLENGE)
    name, scope = found
    request.state.key_name = name
    request.state.key_scope = scope
    return scope


def sent_key_scope(request: Request) -> str | None:
    """The scope of the key the request sent, None when it sent none; a bad key is a 401
    (also where reads need no key: a client that sends one expects it to count)."""
    if request.headers.get("authorization") is None:
        return None
    return _authenticate(request)


def require_read(request: Request) -> None:
    if get_settings().reads_require_key:
        _authenticate(request)


def require_write(request: Request) -> None:
    if _authenticate(request) != KeyScope.write:
        raise Forbidden("this key may only read; writes need a key with scope 'write'")
