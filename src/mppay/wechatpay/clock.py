"""Time and randomness, injected so tests can fix them.

The library never reads the wall clock or the random source directly: every signer, validator
and client takes a ``Clock`` and a ``NonceFactory``. Production code uses ``SystemClock`` and
``random_nonce``; tests use ``FixedClock`` and a lambda.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FixedClock", "NonceFactory", "SystemClock", "random_nonce", "unix_seconds"]

NonceFactory = Callable[[], str]
"""Returns a fresh nonce string (WeChat allows up to 32 characters)."""

_NONCE_ALPHABET = string.ascii_uppercase + string.digits


def random_nonce() -> str:
    """32 random upper-case alphanumerics from the OS CSPRNG, like the official SDKs."""
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(32))


class Clock(Protocol):
    """A source of the current time as an aware UTC ``datetime``."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved; for tests.

    >>> clock = FixedClock(datetime(2023, 11, 14, tzinfo=UTC))
    >>> clock.advance(seconds=300).now().minute
    5
    """

    def __init__(self, at: datetime | int) -> None:
        self._now = _as_utc(at)

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime | int) -> FixedClock:
        self._now = _as_utc(at)
        return self

    def advance(self, seconds: float) -> FixedClock:
        self._now += timedelta(seconds=seconds)
        return self


def unix_seconds(clock: Clock) -> int:
    """Whole seconds since the epoch, as WeChat wants in every timestamp field."""
    return int(clock.now().timestamp())


def _as_utc(at: datetime | int) -> datetime:
    if isinstance(at, int):
        return datetime.fromtimestamp(at, UTC)
    if at.tzinfo is None:
        raise ValueError("FixedClock needs an aware datetime")
    return at.astimezone(UTC)
