"""Rules of the operations console that need no database: roles and what each may do, and when
a sign-in session has run out.

>>> may("support", "refund")
True
>>> refund_decision("support", 5_000, support_limit_fen=10_000)
'allowed'
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "ACTIONS",
    "ROLES",
    "SessionState",
    "may",
    "refund_decision",
    "session_state",
]

ROLES = ("viewer", "support", "admin")

# What each role may do beyond reading. Support's refunds are also capped per refund.
ACTIONS: dict[str, frozenset[str]] = {
    "refund": frozenset({"support", "admin"}),
    "refresh": frozenset({"support", "admin"}),
    "resolve_review": frozenset({"support", "admin"}),
    "close": frozenset({"admin"}),
    "retry_job": frozenset({"admin"}),
    "rerun_reconciliation": frozenset({"admin"}),
    "read_audit": frozenset({"admin"}),
}


def may(role: str, action: str) -> bool:
    """True when ``role`` may take ``action`` (an unknown role or action may nothing)."""
    return role in ACTIONS.get(action, frozenset())


def refund_decision(role: str, amount_fen: int, *, support_limit_fen: int) -> str:
    """``allowed``, ``role`` (the role never refunds) or ``limit`` (support, above its cap)."""
    if not may(role, "refund"):
        return "role"
    if role == "support" and amount_fen > support_limit_fen:
        return "limit"
    return "allowed"


class SessionState(StrEnum):
    ACTIVE = "active"
    IDLE = "idle"  # no request for longer than the idle timeout
    EXPIRED = "expired"  # older than the absolute lifetime, or revoked


def session_state(
    *,
    created_at: datetime,
    last_seen_at: datetime,
    revoked: bool,
    now: datetime,
    idle_timeout: timedelta,
    lifetime: timedelta,
) -> SessionState:
    if revoked or now >= created_at + lifetime:
        return SessionState.EXPIRED
    if now >= last_seen_at + idle_timeout:
        return SessionState.IDLE
    return SessionState.ACTIVE
