"""What a notification leaves behind, through real HTTP: a rejected one keeps a small bounded
record (hash, length, prefix, reason, bounded headers) and is logged in aggregate; a verified
one keeps its whole body; a NUL byte never reaches the database."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import pytest
from sqlalchemy import select

from mppay.store.models import NotificationRow
from tests.integration.service.test_attacks import paid_resource, pending_order, post_v3, signed
from tests.support.shop import Shop

JUNK_BYTES = 60_000
# A generous ceiling per rejected record (prefix + reason + audited headers); the junk is 60 KB.
MAX_REJECTED_RECORD_BYTES = 2_048


async def stored_notifications(shop: Shop) -> list[dict[str, Any]]:
    async with shop.stack.service.engine.connect() as connection:
        rows = await connection.execute(
            select(
                NotificationRow.verified,
                NotificationRow.outcome,
                NotificationRow.reason,
                NotificationRow.headers,
                NotificationRow.body,
                NotificationRow.body_sha256,
                NotificationRow.body_length,
            ).order_by(NotificationRow.id)
        )
        return [dict(row._mapping) for row in rows]


def stored_size(record: dict[str, Any]) -> int:
    return (
        len(record["body"].encode())
        + len((record["reason"] or "").encode())
        + len(json.dumps(record["headers"], ensure_ascii=False).encode())
    )


async def test_junk_notifications_with_bad_signatures_keep_small_bounded_records(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    user, order = await pending_order(shop)
    headers, _ = signed(shop, paid_resource(shop, user, order))
    junk = b'{"id":"' + b"J" * (JUNK_BYTES - 10) + b'"}'
    assert len(junk) >= JUNK_BYTES - 10
    before = await stored_notifications(shop)

    with caplog.at_level(logging.INFO):
        statuses = [await post_v3(shop, headers, junk) for _ in range(200)]

    assert set(statuses) == {401}
    records = (await stored_notifications(shop))[len(before) :]
    assert len(records) == 200
    for record in records:
        assert record["verified"] is False
        assert record["outcome"] == "rejected"
        assert record["body_length"] == len(junk)
        assert record["body_sha256"] == hashlib.sha256(junk).hexdigest()
        assert junk.decode().startswith(record["body"])
        assert 0 < len(record["body"]) <= 256
        assert "Signature" in record["reason"]
        assert stored_size(record) <= MAX_REJECTED_RECORD_BYTES
    assert sum(stored_size(r) for r in records) <= 200 * MAX_REJECTED_RECORD_BYTES

    # Aggregated: a few lines and a note that the rest are counted, not 200 WARNING lines.
    rejection_lines = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert 1 <= len(rejection_lines) <= 10
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "JJJJJJJJ" not in logged
    assert headers["Wechatpay-Signature"] not in logged


async def test_a_body_with_a_nul_byte_is_refused_and_keeps_its_audit_row(shop: Shop) -> None:
    user, order = await pending_order(shop)
    headers, body = signed(shop, paid_resource(shop, user, order))
    poisoned = body.replace(b'"summary":"', b'"summary":"\x00', 1)
    assert b"\x00" in poisoned
    before = await stored_notifications(shop)

    assert await post_v3(shop, headers, poisoned) == 401

    [record] = (await stored_notifications(shop))[len(before) :]
    assert record["verified"] is False
    assert record["outcome"] == "rejected"
    assert "\x00" not in record["body"]
    assert record["body_sha256"] == hashlib.sha256(poisoned).hexdigest()
    assert record["body_length"] == len(poisoned)
    assert (await shop.order(user, order["id"]))["status"] == "PENDING"


async def test_a_verified_notification_keeps_its_whole_body(shop: Shop) -> None:
    user, order = await pending_order(shop)
    headers, body = signed(shop, paid_resource(shop, user, order))
    before = await stored_notifications(shop)

    assert await post_v3(shop, headers, body) == 204

    [record] = (await stored_notifications(shop))[len(before) :]
    assert record["verified"] is True
    assert record["body"] == body.decode()
    assert record["body_length"] == len(body)
    assert record["body_sha256"] == hashlib.sha256(body).hexdigest()
    # The operations API still shows the notification next to the order.
    dossier = await shop.dossier(order["id"])
    assert [n["outcome"] for n in dossier["notifications"]] == ["applied_paid"]


@pytest.mark.parametrize("api_version", ["v2"])
async def test_a_v2_body_with_a_nul_byte_is_malformed_and_keeps_its_audit_row(shop: Shop) -> None:
    poisoned = b"<xml><return_code><![CDATA[SUCCESS\x00]]></return_code></xml>"
    before = await stored_notifications(shop)

    response = await shop.http.post(f"{shop.api}/notify/v2/payments", content=poisoned)

    assert response.status_code == 400
    [record] = (await stored_notifications(shop))[len(before) :]
    assert record["outcome"] == "rejected"
    assert "\x00" not in record["body"]
    assert record["body_sha256"] == hashlib.sha256(poisoned).hexdigest()
