"""The console's view data and rules: money as text, Beijing times, chart series, roles,
CSRF, idle timeout, amounts typed in yuan, labels in both languages, the CSV cells."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from mppay.domain.operators import SessionState, may, refund_decision, session_state
from mppay.store.models import NotificationRow, OrderEventRow, OrderRow, RefundRow
from mppay.web.console import views
from mppay.web.console.auth import safe_next
from mppay.web.console.core import check_csrf
from mppay.web.console.export import csv_row
from mppay.web.console.i18n import LABELS, translator

T0 = datetime(2026, 12, 4, 2, 5, 3, tzinfo=UTC)  # 10:05:03 in Beijing


@pytest.mark.parametrize(
    ("amount", "text"),
    [(0, "¥0.00"), (1, "¥0.01"), (1800, "¥18.00"), (123456789, "¥1,234,567.89"), (-5, "-¥0.05")],
)
def test_fen_are_shown_as_yuan_with_two_decimals(amount: int, text: str) -> None:
    assert views.fen(amount) == text


def test_fen_refuses_a_float_and_shows_none_as_a_dash() -> None:
    with pytest.raises(TypeError):
        views.fen(18.0)  # type: ignore[arg-type]
    assert views.fen(None) == "—"
    assert views.yuan_input(1230) == "12.30"


def test_times_are_beijing_time_with_the_zone_written_out() -> None:
    assert views.beijing(T0) == "2026-12-04 10:05:03 (北京时间 UTC+8)"
    assert views.beijing(T0, zone=False) == "2026-12-04 10:05:03"
    # 16:00 UTC is already the next Beijing day
    assert views.beijing(datetime(2026, 12, 4, 16, 0, tzinfo=UTC), zone=False).startswith(
        "2026-12-05 00:00"
    )
    with pytest.raises(ValueError, match="naive"):
        views.beijing(datetime(2026, 12, 4))


@pytest.mark.parametrize(
    ("typed", "fen"),
    [
        ("12", 1200),
        ("12.3", 1230),
        ("12.30", 1230),
        ("¥0.01", 1),
        (" 0.1 ", 10),
        ("999999999.99", 99999999999),
    ],
)
def test_typed_yuan_become_integer_fen(typed: str, fen: int) -> None:
    assert views.typed_yuan(typed) == fen


@pytest.mark.parametrize("typed", ["", "1.234", "-1", "1e3", "abc", "1,000", "0x10", ".5"])
def test_anything_else_typed_as_yuan_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="yuan"):
        views.typed_yuan(typed)


def test_series_are_dense_and_charts_scale_to_the_peak() -> None:
    assert views.series({0: 5, 3: 7, 30: 1}, 4) == [5, 0, 0, 7]
    chart = views.hourly_chart({10: 3600}, {9: 1800})
    assert chart.peak_fen == 3600
    today, yesterday = (line.split() for line in chart.lines)
    assert len(today) == len(yesterday) == 24
    assert today[10].endswith(",0.0")  # the peak touches the top
    assert yesterday[9].endswith(f",{chart.height / 2:.1f}")
    assert [text for _, text in chart.labels] == [f"{h:02d}:00" for h in range(0, 24, 3)]
    daily = views.daily_chart({29: 100}, date(2026, 12, 4))
    assert daily.labels[0][1] == "11-05"
    assert daily.lines[0].split()[-1].endswith(",0.0")


def test_an_empty_chart_is_flat_not_a_division_by_zero() -> None:
    chart = views.hourly_chart({}, {})
    assert chart.peak_fen == 0
    assert {point.split(",")[1] for point in chart.lines[0].split()} == {"160.0"}


def test_roles_and_supports_refund_limit() -> None:
    assert not may("viewer", "refund")
    assert may("support", "refund")
    assert not may("support", "close")
    assert may("admin", "close")
    assert not may("nobody", "refund")
    assert refund_decision("viewer", 1, support_limit_fen=10_000) == "role"
    assert refund_decision("support", 10_000, support_limit_fen=10_000) == "allowed"
    assert refund_decision("support", 10_001, support_limit_fen=10_000) == "limit"
    assert refund_decision("admin", 10**8, support_limit_fen=10_000) == "allowed"


def test_sessions_end_when_idle_too_old_or_revoked() -> None:
    rules = {"idle_timeout": timedelta(minutes=30), "lifetime": timedelta(hours=12)}
    fresh = {"created_at": T0, "last_seen_at": T0 + timedelta(hours=1), "revoked": False}
    assert session_state(now=T0 + timedelta(hours=1, minutes=29), **fresh, **rules) == "active"
    assert session_state(now=T0 + timedelta(hours=1, minutes=30), **fresh, **rules) == "idle"
    busy = {**fresh, "last_seen_at": T0 + timedelta(hours=11, minutes=59)}
    assert session_state(now=T0 + timedelta(hours=12), **busy, **rules) is SessionState.EXPIRED
    assert session_state(now=T0, **{**fresh, "revoked": True}, **rules) is SessionState.EXPIRED


def test_csrf_tokens_must_match_and_be_present() -> None:
    assert check_csrf("abc", "abc")
    assert not check_csrf("abc", "abd")
    assert not check_csrf("abc", None)
    assert not check_csrf("", "")
    assert not check_csrf(None, "abc")


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/console/orders?q=1", "/console/orders?q=1"),
        ("https://evil.example/console/", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("/console/\\evil", "/console/"),
        ("/admin/api/orders", "/console/"),
        (None, "/console/"),
    ],
)
def test_sign_in_only_returns_inside_the_console(target: str | None, safe: str) -> None:
    assert safe_next(target) == safe


def test_the_timeline_tells_the_story_in_order() -> None:
    created = OrderEventRow(at=T0, type="order.created", source="api", detail={})
    paid = OrderEventRow(
        at=T0 + timedelta(seconds=5), type="order.paid", source="notification", detail={}
    )
    rejected = NotificationRow(
        received_at=T0 + timedelta(seconds=3),
        channel="payment",
        verified=False,
        outcome="rejected",
        reason="bad signature",
        api_version="v3",
    )
    refund = RefundRow(
        created_at=T0 + timedelta(seconds=9),
        amount_fen=550,
        status="SUCCESS",
        out_refund_no="RF1",
        reason="cold",
    )
    items = views.build_timeline([paid, created], [], [rejected], [refund])
    assert [item.title for item in items] == [
        "order.created",
        "payment notification rejected: rejected",
        "order.paid",
        "refund ¥5.50 SUCCESS",
    ]
    assert "reason=bad signature" in items[1].detail
    assert [item.tone for item in items] == ["", "bad", "good", "good"]


def test_every_label_a_template_uses_exists_in_both_languages() -> None:
    folder = Path(views.__file__).parent / "templates"
    used = set()
    for template in folder.glob("*.html"):
        used |= set(re.findall(r"t\('([a-z0-9_]+)'\)", template.read_text("utf-8")))
    used |= set(views.REFUND_ADVICE.values()) | set(views.DISCREPANCY_FIX.values())
    used |= {f"role_{role}" for role in ("viewer", "support", "admin")}
    # the notices after an action: ?done=<action>
    used |= {f"done_{action}" for action in ("refund", "close", "refresh", "resolve_review")}
    missing = sorted(key for key in used if key not in LABELS)
    assert missing == []
    assert translator("zh")("refund") == "退款"
    assert translator("en")("refund") == "Refund"
    assert translator("fr")("refund") == "退款"  # Chinese unless English is chosen


def test_csv_cells_are_yuan_and_beijing_time_and_never_formulas() -> None:
    order = OrderRow(
        id="ord_1",
        out_trade_no="MP1",
        transaction_id=None,
        status="PAID",
        amount_total_fen=1805,
        refunded_fen=0,
        currency="CNY",
        openid="=cmd|' /C calc'!A0",
        created_at=T0,
        paid_at=None,
        needs_review=False,
        description="拿铁咖啡",
    )
    row = csv_row(order)
    assert row[4:6] == ["18.05", "0.00"]
    assert row[7].startswith("'=")
    assert row[8] == "2026-12-04T10:05:03+08:00"
    assert row[9] == ""
    assert row[11] == "拿铁咖啡"
