"""Console operators: accounts, sign-in sessions and the audit log.

Passwords are kept only as argon2id hashes (OWASP's recommended parameters; a stored hash
made with others is rehashed at the next sign-in) and checked in a worker thread, since one
check costs tens of milliseconds of CPU. A sign-in issues a 32-byte random session token (the cookie; only its
SHA-256 is stored) and a CSRF token every form of the session must send back. A session ends
after ``idle_timeout`` without a request, after ``lifetime`` in any case, at sign-out, and when
its operator is disabled or gets a new password.

Every operator action, and every sign-in attempt, is written to the audit log with who, what,
on which record, how it ended, when and from which address.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mppay.domain.operators import ROLES, SessionState, session_state
from mppay.store.models import OperatorAuditRow, OperatorRow, OperatorSessionRow
from mppay.store.uow import UnitOfWork
from mppay.usecases.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from mppay.usecases.ports import Clock

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "SANDBOX_OPERATOR",
    "SANDBOX_OPERATOR_PASSWORD",
    "Actor",
    "ConsoleSession",
    "IssuedSignIn",
    "Operators",
]

MIN_PASSWORD_LENGTH = 10
# The sandbox's operator and its password are printed in the banner and the README, like the
# sandbox admin token: a console that does not run in sandbox refuses that password.
SANDBOX_OPERATOR = "sandbox"
SANDBOX_OPERATOR_PASSWORD = "sandbox-operator"  # noqa: S105
_USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-@")
# argon2id at OWASP's recommended floor (19 MiB, 2 passes, 1 lane): ~40 ms a check on this machine (the defaults: ~260 ms).
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """Checked when the name is unknown, so a miss costs the same time as a wrong password."""
    return _hasher.hash(secrets.token_hex(16))


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who is acting, for the audit log."""

    operator_id: int | None
    username: str
    role: str
    client_ip: str


@dataclass(frozen=True)
class IssuedSignIn:
    token: str
    csrf_token: str
    operator: OperatorRow


@dataclass(frozen=True)
class ConsoleSession:
    session_id: int
    csrf_token: str
    operator: OperatorRow

    def actor(self, client_ip: str) -> Actor:
        return Actor(self.operator.id, self.operator.username, self.operator.role, client_ip)


def _check_username(username: str) -> str:
    name = username.strip().lower()
    if not 1 <= len(name) <= 64 or not set(name) <= _USERNAME_CHARS:
        raise InvalidInput(
            "INVALID_USERNAME", "a username is 1-64 of a-z, 0-9 and . _ - @ (case-insensitive)"
        )
    return name


@dataclass
class Operators:
    """The operator use cases over a unit-of-work factory and a clock.

    ``allow_sandbox_password``: only the sandbox accepts the published sandbox password.
    """

    uow: Callable[..., UnitOfWork]
    clock: Clock
    idle_timeout: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=12)
    allow_sandbox_password: bool = False

    def _check_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH or len(password) > 1024:
            raise InvalidInput(
                "WEAK_PASSWORD", f"a password has {MIN_PASSWORD_LENGTH} to 1024 characters"
            )
        if password == SANDBOX_OPERATOR_PASSWORD and not self.allow_sandbox_password:
            raise InvalidInput("WEAK_PASSWORD", "that is the sandbox's published password")

    # --- accounts (mppay operators ...) ---

    async def add(self, username: str, password: str, role: str) -> OperatorRow:
        """Create an operator; ``Conflict`` OPERATOR_EXISTS when the name is taken."""
        name = _check_username(username)
        if role not in ROLES:
            raise InvalidInput("INVALID_ROLE", f"role is one of {', '.join(ROLES)}")
        self._check_password(password)
        hashed = await asyncio.to_thread(_hasher.hash, password)
        now = self.clock.now()
        async with self.uow() as uow:
            if await uow.operators.by_username(name) is not None:
                raise Conflict("OPERATOR_EXISTS", f"operator {name} already exists")
            row = await uow.operators.add(
                OperatorRow(
                    username=name,
                    password_hash=hashed,
                    role=role,
                    created_at=now,
                    password_changed_at=now,
                    disabled_at=None,
                )
            )
            await uow.commit()
        return row

    async def all(self) -> list[OperatorRow]:
        async with self.uow(read_only=True) as uow:
            return await uow.operators.all()

    async def _existing(self, uow: UnitOfWork, username: str) -> OperatorRow:
        row = await uow.operators.by_username(_check_username(username))
        if row is None:
            raise NotFound("OPERATOR_NOT_FOUND", f"no operator {username}")
        return row

    async def disable(self, username: str) -> OperatorRow:
        """Disable the operator and end its sessions (idempotent)."""
        now = self.clock.now()
        async with self.uow() as uow:
            row = await self._existing(uow, username)
            if row.disabled_at is None:
                await uow.operators.update(row.id, disabled_at=now)
            await uow.operators.revoke_sessions_of(row.id, now)
            await uow.commit()
            fresh = await uow.operators.get(row.id)
        assert fresh is not None
        return fresh

    async def reset_password(self, username: str, password: str) -> OperatorRow:
        """A new password; the operator's open sessions end."""
        self._check_password(password)
        hashed = await asyncio.to_thread(_hasher.hash, password)
        now = self.clock.now()
        async with self.uow() as uow:
            row = await self._existing(uow, username)
            await uow.operators.update(row.id, password_hash=hashed, password_changed_at=now)
            await uow.operators.revoke_sessions_of(row.id, now)
            await uow.commit()
        return row

    async def ensure_sandbox_operator(self) -> None:
        """The sandbox's ``sandbox`` admin with the published password, unless it exists."""
        async with self.uow(read_only=True) as uow:
            if await uow.operators.by_username(SANDBOX_OPERATOR) is not None:
                return
        with contextlib.suppress(Conflict):  # created meanwhile by another start
            await self.add(SANDBOX_OPERATOR, SANDBOX_OPERATOR_PASSWORD, "admin")

    # --- sign-in ---

    async def sign_in(self, username: str, password: str, client_ip: str) -> IssuedSignIn:
        """A new session, or ``Unauthenticated`` SIGN_IN_FAILED (the same for every reason)."""
        name = username.strip().lower()[:64]
        async with self.uow(read_only=True) as uow:
            row = await uow.operators.by_username(name) if name else None
        stored = row.password_hash if row is not None else _dummy_hash()
        verified = await asyncio.to_thread(_verify, stored, password[:1024])
        reason = None
        if row is None or not verified:
            reason = "wrong_credentials"
        elif row.disabled_at is not None:
            reason = "disabled"
        elif password == SANDBOX_OPERATOR_PASSWORD and not self.allow_sandbox_password:
            reason = "sandbox_password_outside_sandbox"
        actor = Actor(row.id if row else None, name or "-", row.role if row else "", client_ip)
        if reason is not None or row is None:
            await self.record(actor, "sign_in", None, "refused", {"reason": reason})
            raise Unauthenticated("SIGN_IN_FAILED", "wrong username or password")
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock.now()
        rehash = _hasher.check_needs_rehash(row.password_hash)
        new_hash = await asyncio.to_thread(_hasher.hash, password) if rehash else None
        async with self.uow() as uow:
            await uow.operators.add_session(
                OperatorSessionRow(
                    operator_id=row.id,
                    token_hash=_token_hash(token),
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.lifetime,
                    revoked_at=None,
                    client_ip=client_ip[:64],
                )
            )
            if new_hash is not None:
                await uow.operators.update(row.id, password_hash=new_hash)
            await uow.operators.audit(self._audit_row(actor, "sign_in", None, "ok", {}))
            await uow.commit()
        return IssuedSignIn(token=token, csrf_token=csrf, operator=row)

    async def authenticate(self, token: str) -> ConsoleSession:
        """The session of a cookie token; ``Unauthenticated`` SESSION_EXPIRED when it ran out
        (idle, too old, signed out, operator disabled) or UNAUTHENTICATED when unknown.

        Being seen keeps the session alive; ``last_seen_at`` is written at most once a minute.
        """
        if not token or len(token) > 256:
            raise Unauthenticated("UNAUTHENTICATED", "sign in first")
        now = self.clock.now()
        async with self.uow() as uow:
            found = await uow.operators.session_by_token_hash(_token_hash(token))
            if found is None:
                raise Unauthenticated("UNAUTHENTICATED", "sign in first")
            session, operator = found
            state = session_state(
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                revoked=session.revoked_at is not None or operator.disabled_at is not None,
                now=now,
                idle_timeout=self.idle_timeout,
                lifetime=self.lifetime,
            )
            if state is not SessionState.ACTIVE:
                raise Unauthenticated("SESSION_EXPIRED", "the session has expired; sign in again")
            if now - session.last_seen_at >= timedelta(minutes=1):
                await uow.operators.touch_session(session.id, now)
                await uow.commit()
        return ConsoleSession(session.id, session.csrf_token, operator)

    async def sign_out(self, session: ConsoleSession, client_ip: str) -> None:
        now = self.clock.now()
        async with self.uow() as uow:
            await uow.operators.revoke_session(session.session_id, now)
            await uow.operators.audit(
                self._audit_row(session.actor(client_ip), "sign_out", None, "ok", {})
            )
            await uow.commit()

    # --- audit ---

    def _audit_row(
        self,
        actor: Actor,
        action: str,
        target: str | None,
        outcome: str,
        detail: dict[str, Any],
    ) -> OperatorAuditRow:
        return OperatorAuditRow(
            at=self.clock.now(),
            operator_id=actor.operator_id,
            username=actor.username[:64],
            action=action,
            target=target[:64] if target else None,
            outcome=outcome[:40],
            client_ip=actor.client_ip[:64],
            detail=detail,
        )

    async def record(
        self,
        actor: Actor,
        action: str,
        target: str | None,
        outcome: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one audit row in its own transaction."""
        async with self.uow() as uow:
            await uow.operators.audit(self._audit_row(actor, action, target, outcome, detail or {}))
            await uow.commit()

    async def audit_log(
        self, *, limit: int, offset: int = 0, target: str | None = None
    ) -> list[OperatorAuditRow]:
        async with self.uow(read_only=True) as uow:
            return await uow.operators.audit_log(limit=limit, offset=offset, target=target)
