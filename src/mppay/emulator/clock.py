"""Time in the emulator: a movable business clock, and WeChat's time formats.

Two clocks exist on purpose. The *business* clock (``SandboxClock``) drives everything WeChat
decides by time: prepay and order expiry, refund completion, notification retries, login code
life, bill dates. ``POST /sandbox/clock`` moves it forward. The *wall* clock (``time.time`` unless
injected) is what WeChat's signatures use: the 5-minute ``Authorization`` window and every
``Wechatpay-Timestamp`` header, so that real clients, which sign with their own real time, keep
working after the business clock has been moved.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

__all__ = [
    "BEIJING",
    "BusinessClock",
    "SandboxClock",
    "beijing_date",
    "format_compact",
    "format_rfc3339",
    "format_v2_time",
    "parse_compact",
    "parse_rfc3339",
]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


class BusinessClock(Protocol):
    """What the emulator needs from a business clock: unix seconds now, and a way forward."""

    def now(self) -> float: ...

    def advance(self, seconds: float) -> None: ...


class SandboxClock:
    """Wall time plus an offset that only grows; optionally frozen at a start instant.

    ``SandboxClock()`` follows real time; ``SandboxClock(start=1700000000)`` stands still until
    ``advance`` is called, which makes retry schedules and expiry exact in tests.

    >>> clock = SandboxClock(start=1_700_000_000)
    >>> clock.advance(15)
    >>> clock.now()
    1700000015.0
    """

    def __init__(
        self, start: float | None = None, *, wall: Callable[[], float] = time.time
    ) -> None:
        self._wall = wall
        self._start = None if start is None else float(start)
        self._offset = 0.0

    @property
    def offset(self) -> float:
        """Seconds added by ``advance`` so far."""
        return self._offset

    @property
    def frozen(self) -> bool:
        return self._start is not None

    def now(self) -> float:
        base = self._start if self._start is not None else self._wall()
        return base + self._offset

    def advance(self, seconds: float) -> None:
        """Move forward; the business clock never goes back (ValueError on negative input)."""
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        self._offset += float(seconds)

    def restore_offset(self, offset: float) -> None:
        """Set the offset saved in a state file (used when loading, never by callers)."""
        self._offset = max(0.0, float(offset))


def format_rfc3339(ts: float) -> str:
    """``2023-11-14T22:13:30+08:00``: how WeChat v3 writes every time (Beijing offset)."""
    return datetime.fromtimestamp(int(ts), tz=BEIJING).isoformat(timespec="seconds")


def parse_rfc3339(text: str) -> float:
    """Unix seconds of an RFC 3339 time with an explicit offset; ValueError otherwise."""
    if len(text) < 20 or "T" not in text:
        raise ValueError("not an RFC 3339 time")
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("RFC 3339 time without an offset")
    return parsed.timestamp()


def format_compact(ts: float) -> str:
    """``yyyyMMddHHmmss`` in Beijing time (v2 ``time_end``, ``time_expire``)."""
    return datetime.fromtimestamp(int(ts), tz=BEIJING).strftime("%Y%m%d%H%M%S")


def parse_compact(text: str) -> float:
    """Inverse of ``format_compact``; ValueError on anything but 14 digits of a real time."""
    if len(text) != 14 or not text.isdigit():
        raise ValueError("not yyyyMMddHHmmss")
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING).timestamp()


def format_v2_time(ts: float) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in Beijing time (v2 refund times, bill rows)."""
    return datetime.fromtimestamp(int(ts), tz=BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def beijing_date(ts: float) -> date:
    """The calendar day in Beijing at ``ts`` (bill days are Beijing days)."""
    return datetime.fromtimestamp(ts, tz=BEIJING).date()
