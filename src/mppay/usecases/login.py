"""Mini Program login: ``wx.login`` code -> jscode2session -> our own opaque session token.

The token is 32 random bytes; only its SHA-256 is stored, so a database leak does not leak
sessions. WeChat's ``session_key`` is never stored or returned.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from mppay.store.models import UserRow
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import InvalidInput, Unauthenticated, UpstreamUnavailable
from mppay.usecases.ports import LoginRejected, OutcomeUnknown

__all__ = ["IssuedSession", "authenticate", "login", "logout", "token_hash"]

# errcodes that mean "this code will never work" vs. "slow down / try later".
_RETRY_LATER = {"45011"}


@dataclass(frozen=True)
class IssuedSession:
    token: str
    expires_at: datetime
    user: UserRow


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def login(ctx: ServiceContext, code: str) -> IssuedSession:
    """Exchange a ``wx.login`` code for a session token; upserts the user by openid.

    Raises ``InvalidInput`` for a blank code, ``Unauthenticated`` when WeChat rejects the
    code, ``UpstreamUnavailable`` when WeChat cannot be reached or rate-limits.
    """
    code = code.strip()
    if not code or len(code) > 128:
        raise InvalidInput("INVALID_LOGIN_CODE", "code must be the non-empty string wx.login gave")
    try:
        identity = await ctx.login.code2session(code)
    except LoginRejected as exc:
        if exc.code in _RETRY_LATER:
            raise UpstreamUnavailable("LOGIN_RATE_LIMITED", exc.message) from exc
        raise Unauthenticated(
            "LOGIN_REJECTED", f"WeChat rejected the login code: {exc.message}"
        ) from exc
    except OutcomeUnknown as exc:
        raise UpstreamUnavailable(
            "WECHAT_UNAVAILABLE", "WeChat login is unavailable; try again"
        ) from exc
    now = ctx.clock.now()
    token = secrets.token_urlsafe(32)
    expires_at = now + ctx.session_ttl
    async with ctx.uow() as uow:
        user = await uow.users.upsert_by_openid(identity.openid, identity.unionid, now)
        await uow.sessions.add(user.id, token_hash(token), now, expires_at)
        await uow.commit()
    return IssuedSession(token=token, expires_at=expires_at, user=user)


async def authenticate(ctx: ServiceContext, token: str) -> UserRow:
    """The user of a valid bearer token; ``Unauthenticated`` otherwise.

    A token verified in the last ``ctx.sessions.ttl`` is trusted without a database read
    (``session_cache``: a revocation by another process takes effect within that window).
    """
    if not token:
        raise Unauthenticated("UNAUTHENTICATED", "a Bearer token from POST /api/login is required")
    digest = token_hash(token)
    now = ctx.clock.now()
    cached = ctx.sessions.get(digest, now)
    if cached is not None:
        return cached
    async with ctx.uow(read_only=True) as uow:
        found = await uow.sessions.find_active(digest, now)
    if found is None:
        raise Unauthenticated(
            "INVALID_TOKEN", "the token is unknown, expired or revoked; log in again"
        )
    user, expires_at = found
    ctx.sessions.put(digest, user, now, expires_at)
    return user


async def logout(ctx: ServiceContext, token: str) -> None:
    """Revoke the session of ``token`` (idempotent)."""
    digest = token_hash(token)
    ctx.sessions.forget(digest)
    async with ctx.uow() as uow:
        await uow.sessions.revoke(digest, ctx.clock.now())
        await uow.commit()
