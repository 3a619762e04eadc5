"""The pure rule: a statement that money moved must say how much and under which WeChat id."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from mppay.adapters.snapshots import (
    refund_from_v2_notification,
    refund_from_v2_record,
    refund_from_v3,
    trade_from_v2_notification,
    trade_from_v2_order,
    trade_from_v3,
)
from mppay.domain.checks import (
    ExpectedRefund,
    ExpectedTrade,
    missing_refund_fields,
    missing_trade_fields,
    refund_mismatches,
    trade_mismatches,
)
from mppay.domain.states import RefundStatus
from mppay.domain.wechat_facts import Mismatch, RefundSnapshot, TradeSnapshot
from mppay.wechatpay.v2 import V2Order, V2PaymentNotification, V2RefundNotification
from mppay.wechatpay.v2.models import V2RefundRecord
from mppay.wechatpay.v3 import RefundResource, Transaction

EXPECTED = ExpectedTrade("wx1", "1900000001", "MP0001", 3600, "CNY", "o-alice")
PAID = TradeSnapshot(
    appid="wx1",
    mchid="1900000001",
    out_trade_no="MP0001",
    trade_state="SUCCESS",
    transaction_id="4200000000000000000000000001",
    amount_total_fen=3600,
    currency="CNY",
    payer_openid="o-alice",
    success_time=datetime(2026, 11, 29, tzinfo=UTC),
)
EXPECTED_REFUND = ExpectedRefund("R1", "MP0001", 1800)
REFUNDED = RefundSnapshot(
    out_refund_no="R1",
    out_trade_no="MP0001",
    refund_id="50300000000000000000000001",
    status=RefundStatus.SUCCESS,
    refund_fen=1800,
    total_fen=3600,
    success_time=None,
)


def test_a_complete_success_statement_has_no_mismatch() -> None:
    assert trade_mismatches(EXPECTED, PAID) == []
    assert refund_mismatches(EXPECTED_REFUND, REFUNDED) == []


@pytest.mark.parametrize("trade_state", ["SUCCESS", "REFUND"])
@pytest.mark.parametrize(
    ("attribute", "field", "ours"),
    [
        ("amount_total_fen", "amount_total", "3600"),
        ("currency", "currency", "CNY"),
        ("transaction_id", "transaction_id", ""),
    ],
)
def test_a_paid_statement_missing_a_field_is_a_mismatch_naming_it(
    trade_state: str, attribute: str, field: str, ours: str
) -> None:
    snapshot = replace(PAID, trade_state=trade_state, **{attribute: None})
    assert missing_trade_fields(snapshot) == [field]
    assert trade_mismatches(EXPECTED, snapshot) == [Mismatch(field, ours, None)]
    assert field in str(trade_mismatches(EXPECTED, snapshot)[0])


def test_an_empty_transaction_id_counts_as_missing() -> None:
    assert missing_trade_fields(replace(PAID, transaction_id="")) == ["transaction_id"]


@pytest.mark.parametrize("trade_state", ["NOTPAY", "USERPAYING", "CLOSED", "PAYERROR"])
def test_an_unpaid_statement_may_leave_out_amount_and_transaction_id(trade_state: str) -> None:
    snapshot = replace(
        PAID, trade_state=trade_state, transaction_id=None, amount_total_fen=None, currency=None
    )
    assert missing_trade_fields(snapshot) == []
    assert trade_mismatches(EXPECTED, snapshot) == []


@pytest.mark.parametrize(
    ("attribute", "field", "ours"),
    [("refund_fen", "refund_amount", "1800"), ("refund_id", "refund_id", "")],
)
def test_a_success_refund_missing_a_field_is_a_mismatch_naming_it(
    attribute: str, field: str, ours: str
) -> None:
    snapshot = replace(REFUNDED, **{attribute: None})
    assert missing_refund_fields(snapshot) == [field]
    assert refund_mismatches(EXPECTED_REFUND, snapshot) == [Mismatch(field, ours, None)]


@pytest.mark.parametrize("status", [RefundStatus.PROCESSING, RefundStatus.CLOSED])
def test_an_unsettled_or_closed_refund_may_leave_them_out(status: RefundStatus) -> None:
    snapshot = replace(REFUNDED, status=status, refund_fen=None, refund_id=None)
    assert refund_mismatches(EXPECTED_REFUND, snapshot) == []


def test_a_missing_field_reads_as_missing_not_as_a_value() -> None:
    assert str(Mismatch("amount_total", "3600", None)) == (
        "amount_total: missing from WeChat's SUCCESS statement (ours='3600')"
    )
    assert str(Mismatch("transaction_id", "", None)) == (
        "transaction_id: missing from WeChat's SUCCESS statement"
    )


# The adapters keep an absent field absent (None), never a default the check would accept.


def test_a_v3_success_without_amount_becomes_a_snapshot_the_check_refuses() -> None:
    transaction = Transaction.model_validate(
        {"appid": "wx1", "mchid": "1900000001", "out_trade_no": "MP0001", "trade_state": "SUCCESS"}
    )
    snapshot = trade_from_v3(transaction)
    assert missing_trade_fields(snapshot) == ["amount_total", "currency", "transaction_id"]


def test_v2_payments_without_total_fee_or_transaction_id_are_refused() -> None:
    fields = {
        "appid": "wx1",
        "mch_id": "1900000001",
        "result_code": "SUCCESS",
        "out_trade_no": "MP0001",
        "cash_fee": "3600",
        "time_end": "20261129100000",
        "openid": "o-alice",
        "trade_type": "JSAPI",
        "bank_type": "OTHERS",
    }
    notified = trade_from_v2_notification(V2PaymentNotification.from_fields(fields))
    assert missing_trade_fields(notified) == ["amount_total", "transaction_id"]
    queried = trade_from_v2_order(
        V2Order.from_fields({**fields, "trade_state": "SUCCESS"}), appid="wx1", mchid="1900000001"
    )
    assert missing_trade_fields(queried) == ["amount_total", "transaction_id"]


def test_refunds_without_amount_or_refund_id_are_refused_in_v3_and_v2() -> None:
    resource = RefundResource.model_validate_json(
        json.dumps(
            {
                "mchid": "1900000001",
                "out_trade_no": "MP0001",
                "transaction_id": "42",
                "out_refund_no": "R1",
                "refund_status": "SUCCESS",
            }
        )
    )
    assert missing_refund_fields(refund_from_v3(resource)) == ["refund_amount", "refund_id"]
    record = V2RefundRecord.from_fields({"out_refund_no": "R1", "refund_status": "SUCCESS"})
    from_query = refund_from_v2_record(record, out_trade_no="MP0001", total_fen=3600)
    assert missing_refund_fields(from_query) == ["refund_amount", "refund_id"]
    notice = V2RefundNotification.from_fields(
        {
            "appid": "wx1",
            "mch_id": "1900000001",
            "transaction_id": "42",
            "out_trade_no": "MP0001",
            "out_refund_no": "R1",
            "total_fee": "3600",
            "refund_status": "SUCCESS",
        }
    )
    assert missing_refund_fields(refund_from_v2_notification(notice)) == [
        "refund_amount",
        "refund_id",
    ]
