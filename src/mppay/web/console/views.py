"""Pure functions that turn rows into what the console's pages show (unit-tested).

Money is integer fen all the way to the text: ``fen(123456) == "¥1,234.56"``, never a float.
Times are shown in Beijing time with the zone written out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from mppay.domain.identifiers import BEIJING
from mppay.store.models import (
    NotificationRow,
    OrderEventRow,
    PaymentAttemptRow,
    RefundRow,
)
from mppay.wechatpay import parse_yuan

__all__ = [
    "Chart",
    "TimelineItem",
    "beijing",
    "build_timeline",
    "daily_chart",
    "fen",
    "hourly_chart",
    "series",
]

ZONE = "北京时间 UTC+8"


def fen(amount: int | None, *, sign: bool = False) -> str:
    """``¥1,234.56`` from integer fen (negative: ``-¥0.05``); ``—`` for None."""
    if amount is None:
        return "—"
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError(f"amounts are int fen, got {type(amount).__name__}")
    yuan, cents = divmod(abs(amount), 100)
    prefix = "-" if amount < 0 else ("+" if sign and amount > 0 else "")
    return f"{prefix}¥{yuan:,}.{cents:02d}"


def typed_yuan(text: str) -> int:
    """An amount an operator typed in yuan (``12``, ``12.3``, ``¥12.30``) as integer fen; the
    library's exact string parser does the arithmetic. ``ValueError`` for anything else,
    negative amounts included."""
    amount = parse_yuan(text.strip().lstrip("¥￥").strip())
    if amount < 0:
        raise ValueError(f"not a positive amount in yuan: {text!r}")
    return amount


def yuan_input(amount: int) -> str:
    """The amount as an operator types it back (``12.30``), for form defaults."""
    yuan, cents = divmod(amount, 100)
    return f"{yuan}.{cents:02d}"


def beijing(moment: datetime | None, *, zone: bool = True) -> str:
    """``2026-12-04 18:05:03 (北京时间 UTC+8)`` from an aware datetime; ``—`` for None."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times are aware UTC")
    text = moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    return f"{text} ({ZONE})" if zone else text


def series(buckets: Mapping[int, int], size: int) -> list[int]:
    """A dense list of ``size`` values from sparse ``{bucket index: fen}`` (missing: 0)."""
    return [int(buckets.get(index, 0)) for index in range(size)]


@dataclass(frozen=True)
class Chart:
    """An SVG line chart's geometry: ``lines`` are polyline point strings, one per series."""

    width: int
    height: int
    lines: list[str]
    peak_fen: int
    labels: list[tuple[float, str]] = field(default_factory=list)  # (x, text) under the axis


def _points(values: Sequence[int], width: int, height: int, peak: int) -> str:
    step = width / max(1, len(values) - 1)
    # Geometry may be fractional; the amounts themselves stay integers.
    return " ".join(
        f"{index * step:.1f},{height - (value * height / peak if peak else 0):.1f}"
        for index, value in enumerate(values)
    )


def _chart(
    all_series: Sequence[Sequence[int]], labels: Sequence[str], every: int, width: int, height: int
) -> Chart:
    peak = max((max(values, default=0) for values in all_series), default=0)
    step = width / max(1, len(labels) - 1)
    return Chart(
        width=width,
        height=height,
        lines=[_points(values, width, height, peak) for values in all_series],
        peak_fen=peak,
        labels=[(index * step, text) for index, text in enumerate(labels) if index % every == 0],
    )


def hourly_chart(today: Mapping[int, int], yesterday: Mapping[int, int]) -> Chart:
    """Paid fen per Beijing hour, today (first line) against yesterday (second)."""
    labels = [f"{hour:02d}:00" for hour in range(24)]
    return _chart([series(today, 24), series(yesterday, 24)], labels, 3, 720, 160)


def daily_chart(days: Mapping[int, int], last_day: date) -> Chart:
    """Paid fen per Beijing day for the 30 days ending ``last_day`` (bucket 0 = 29 days before)."""
    first = last_day - timedelta(days=29)
    labels = [(first + timedelta(days=index)).strftime("%m-%d") for index in range(30)]
    return _chart([series(days, 30)], labels, 5, 720, 160)


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # event | prepay | notification | refund
    title: str
    detail: str
    tone: str = ""  # "" | good | bad | warn


_EVENT_TONES = {
    "order.paid": "good",
    "refund.succeeded": "good",
    "refund.rejected": "bad",
    "refund.abnormal": "bad",
    "review.mismatch": "bad",
    "notification.rejected": "bad",
    "prepay.failed": "bad",
    "close.failed": "warn",
    "wechat.query_failed": "warn",
    "prepay.outcome_unknown": "warn",
    "refund.outcome_unknown": "warn",
    "review.resolved": "good",
}


def _detail(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in values.items() if value not in (None, ""))


def build_timeline(
    events: Iterable[OrderEventRow],
    attempts: Iterable[PaymentAttemptRow],
    notifications: Iterable[NotificationRow],
    refunds: Iterable[RefundRow],
) -> list[TimelineItem]:
    """One story of the order, oldest first: its events (every state change and WeChat call),
    each prepay attempt, each notification received (verified or rejected, and why), each
    refund. Items at the same instant keep that order."""
    items: list[TimelineItem] = []
    for event in events:
        items.append(
            TimelineItem(
                event.at,
                "event",
                event.type,
                _detail({"source": event.source, **event.detail}),
                _EVENT_TONES.get(event.type, ""),
            )
        )
    for attempt in attempts:
        items.append(
            TimelineItem(
                attempt.requested_at,
                "prepay",
                f"prepay {attempt.api_version} {attempt.status}",
                _detail(
                    {
                        "prepay_id": attempt.prepay_id,
                        "error": attempt.error_code,
                        "message": attempt.error_message,
                    }
                ),
                "bad" if attempt.status == "FAILED" else "",
            )
        )
    for note in notifications:
        verdict = "verified" if note.verified else "rejected"
        items.append(
            TimelineItem(
                note.received_at,
                "notification",
                f"{note.channel} notification {verdict}: {note.outcome}",
                _detail(
                    {
                        "event_type": note.event_type,
                        "id": note.notification_id,
                        "out_refund_no": note.out_refund_no,
                        "reason": note.reason,
                    }
                ),
                "" if note.verified else "bad",
            )
        )
    for refund in refunds:
        items.append(
            TimelineItem(
                refund.created_at,
                "refund",
                f"refund {fen(refund.amount_fen)} {refund.status}",
                _detail(
                    {
                        "out_refund_no": refund.out_refund_no,
                        "reason": refund.reason,
                        "error": refund.error_code,
                    }
                ),
                {"SUCCESS": "good", "ABNORMAL": "bad", "CLOSED": "warn"}.get(refund.status, ""),
            )
        )
    order = {"event": 0, "prepay": 1, "notification": 2, "refund": 3}
    return sorted(items, key=lambda item: (item.at, order[item.kind]))


# What an operator does about each refund state and each reconciliation finding.
REFUND_ADVICE = {
    "ABNORMAL": "refund_abnormal_advice",
    "PROCESSING": "refund_processing_advice",
    "CLOSED": "refund_closed_advice",
}
DISCREPANCY_FIX = {
    "MISSING_LOCALLY": "fix_missing_locally",
    "MISSING_AT_WECHAT": "fix_missing_at_wechat",
    "AMOUNT_MISMATCH": "fix_amount_mismatch",
    "STATUS_MISMATCH": "fix_status_mismatch",
    "REFUND_MISSING_LOCALLY": "fix_refund_missing_locally",
    "REFUND_MISSING_AT_WECHAT": "fix_refund_missing_at_wechat",
    "REFUND_AMOUNT_MISMATCH": "fix_amount_mismatch",
    "REFUND_STATUS_MISMATCH": "fix_refund_status_mismatch",
}


def pages(offset: int, limit: int, shown: int) -> tuple[int | None, int | None]:
    """(previous offset, next offset) of a page; None where there is none.

    ``shown`` rows were fetched with ``limit + 1``: more than ``limit`` means a next page.
    """
    previous = max(0, offset - limit) if offset > 0 else None
    following = offset + limit if shown > limit else None
    return previous, following
