"""The audit record of a notification (bounded unless verified, never a NUL) and the
rate-limited log of refusals."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

import pytest

from mppay.usecases.notification_records import (
    HEADER_VALUE_MAX_CHARS,
    REASON_MAX_CHARS,
    REJECTED_BODY_PREFIX_BYTES,
    notification_row,
)
from mppay.usecases.rejection_log import RejectionLog

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def record(body: bytes, *, verified: bool, **fields: object) -> dict[str, object]:
    row = notification_row(
        received_at=NOW,
        api_version="v3",
        channel="payment",
        headers=fields.pop("headers", {}),  # type: ignore[arg-type]
        body=body,
        verified=verified,
        outcome="applied_paid" if verified else "rejected",
        **fields,  # type: ignore[arg-type]
    )
    return {c: getattr(row, c) for c in ("body", "body_sha256", "body_length", "reason", "headers")}


def test_an_unverified_body_keeps_only_its_hash_length_and_a_short_prefix() -> None:
    body = b"x" * 60_000
    kept = record(body, verified=False, reason="SignatureMismatchError: no")
    assert kept["body"] == "x" * REJECTED_BODY_PREFIX_BYTES
    assert kept["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert kept["body_length"] == 60_000


def test_a_verified_body_is_kept_whole_but_never_with_a_nul() -> None:
    body = b'{"summary":"a\x00b",' + b'"pad":"' + b"y" * 5_000 + b'"}'
    kept = record(body, verified=True)
    assert kept["body"] == body.decode().replace("\x00", "\ufffd")
    assert kept["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert kept["body_length"] == len(body)


def test_reasons_and_header_values_are_bounded_and_storable() -> None:
    kept = record(
        b"",
        verified=False,
        reason="KeyError: \x00" + "r" * 5_000 + "\udc80",
        headers={
            "Wechatpay-Signature": "s\x00" + "s" * 10_000,
            "Cookie": "session=secret",
            "User-Agent": "ua\udc80",
        },
    )
    reason = str(kept["reason"])
    assert len(reason) <= REASON_MAX_CHARS
    assert "\x00" not in reason
    headers = kept["headers"]
    assert isinstance(headers, dict)
    assert set(headers) == {"wechatpay-signature", "user-agent"}
    assert len(headers["wechatpay-signature"]) == HEADER_VALUE_MAX_CHARS
    assert "\x00" not in headers["wechatpay-signature"]
    headers["user-agent"].encode("utf-8")  # a lone surrogate would not reach the database


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_refusals_are_logged_a_few_per_window_then_summarised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeMonotonic()
    rejections = RejectionLog(
        logging.getLogger("test.rejections"), burst=3, window_seconds=60, clock=clock
    )
    with caplog.at_level(logging.WARNING, logger="test.rejections"):
        for _ in range(100):
            rejections.rejected("v3", "payment", "SignatureMismatchError: bad")
            clock.now += 0.1
        first_window = [r.getMessage() for r in caplog.records]
        clock.now += 60
        rejections.rejected("v2", "refund", "XmlError: bad")

    assert len(first_window) == 4  # three refusals and the note that the rest are counted
    assert all("SignatureMismatchError" in line for line in first_window[:3])
    summary, next_window = [r.getMessage() for r in caplog.records][4:]
    assert "97 more" in summary
    assert "v3 payment: 97" in summary
    assert next_window == "rejected v2 refund notification: XmlError: bad"
