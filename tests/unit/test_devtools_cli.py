"""``mppay clock advance`` durations, and ``mppay listen``'s terminal lines."""

from __future__ import annotations

import pytest

from mppay.devtools_cli import parse_duration, render


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("45s", 45), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2x", "-5m", "h", "2h junk"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_a_failed_delivery_shows_the_error_instead_of_an_answer() -> None:
    line = render(
        {
            "feed": "notification",
            "time": "2026-12-05T02:07:38+08:00",
            "api": "v3",
            "event_type": "TRANSACTION.SUCCESS",
            "out_trade_no": "MP1",
            "out_refund_no": None,
            "notification_id": "n-1",
            "attempt": 2,
            "status_code": None,
            "response_body": None,
            "error": "connection refused",
        }
    )
    assert line.endswith("attempt 2  <-- no answer: connection refused")
