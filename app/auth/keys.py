"""API keys: created by the CLI, stored only as SHA-256 hashes, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

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


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, name: str, scope: KeyScope) -> str:
    """Make a key; the caller shows it once, only its hash is kept."""
    if session.scalar(sa.select(col(ApiKey.id)).where(col(ApiKey.name) == name)) is not None:
        raise Conflict(f"a key named {name!r} already exists")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, scope=scope.value, key_hash=hash_key(key)))
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
    """The name and scope of a live key, or None. Lookup is by hash, then compared in constant
    time."""
    digest = hash_key(token)
    with session_factory()() as session:
        row = session.execute(
            sa.select(
                col(ApiKey.name), col(ApiKey.key_hash), col(ApiKey.scope), col(ApiKey.revoked_at)
            ).where(col(ApiKey.key_hash) == digest)
        ).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, digest):
        return None
    return str(row.name), str(row.scope)


def _authenticate(request: Request) -> str:
    """The scope of the request's key; its name goes on the request for the request log."""
    token = _bearer(request)
    if token is None:
        raise Unauthorized("this request needs an API key: Authorization: Bearer <key>", headers=CHALLENGE)
    found = live_key(token)
    if found is None:
        raise Unauthorized("unknown or revoked API key", headers=CHALLENGE)
    name, scope = found
    request.state.key_name = name
    return scope


def require_read(request: Request) -> None:
    if get_settings().reads_require_key:
        _authenticate(request)


def require_write(request: Request) -> None:
    if _authenticate(request) != KeyScope.write:
        raise Forbidden("this key may only read; writes need a key with scope 'write'")
