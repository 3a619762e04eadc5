"""Models: exact wire JSON for requests, strict money, lenient-but-typed responses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from mppay.wechatpay.v3.models import (
    Amount,
    JsapiPrepayRequest,
    Refund,
    RefundAmountRequest,
    RefundRequest,
    RefundResource,
    SceneInfo,
    Transaction,
    wire_json,
)
from tests import spec_vectors as v
from tests.unit.wechatpay_v3.helpers import make_prepay_request


def prepay_request(**overrides: object) -> JsapiPrepayRequest:
    return make_prepay_request(**overrides)


def test_prepay_request_with_appid_and_mchid_is_byte_identical_to_vector_7_5_b() -> None:
    body = wire_json({"appid": v.V3_APPID, "mchid": v.V3_MCHID, **prepay_request().to_wire()})
    assert body == v.V3_BODY_75B.encode()


def test_time_expire_is_rendered_in_china_time_with_offset_and_whole_seconds() -> None:
    request = prepay_request(
        time_expire=datetime(2018, 6, 8, 2, 34, 56, 789000, tzinfo=UTC), attach=""
    )
    wire = request.to_wire()
    assert wire["time_expire"] == "2018-06-08T10:34:56+08:00"
    assert wire["attach"] == ""
    assert list(wire) == [
        "description",
        "out_trade_no",
        "time_expire",
        "attach",
        "notify_url",
        "amount",
        "payer",
    ]


def test_absent_optional_fields_are_omitted_not_null() -> None:
    wire = prepay_request(scene_info=SceneInfo(payer_client_ip="1.2.3.4")).to_wire()
    assert "null" not in json.dumps(wire)
    assert wire["scene_info"] == {"payer_client_ip": "1.2.3.4"}


def test_a_naive_time_expire_is_refused() -> None:
    with pytest.raises(ValidationError):
        prepay_request(time_expire=datetime(2018, 6, 8, 10, 34, 56))


@pytest.mark.parametrize("total", [0, -1, 1.0, "100", True])
def test_amount_total_must_be_a_positive_int(total: object) -> None:
    with pytest.raises(ValidationError):
        Amount(total=total)


@pytest.mark.parametrize("out_trade_no", ["12345", "x" * 33, "has space1", "中文订单号123"])
def test_out_trade_no_must_follow_wechat_rules(out_trade_no: str) -> None:
    with pytest.raises(ValidationError):
        prepay_request(out_trade_no=out_trade_no)


def test_emoji_are_refused_because_wechat_stores_only_three_byte_utf8() -> None:
    with pytest.raises(ValidationError, match="1-3 UTF-8 bytes"):
        prepay_request(description="咖啡 ☕️🎉")


def test_notify_url_with_a_query_string_is_refused() -> None:
    with pytest.raises(ValidationError):
        prepay_request(notify_url="https://example.com/notify?x=1")


def test_unknown_request_arguments_are_refused() -> None:
    with pytest.raises(ValidationError):
        prepay_request(amout=Amount(total=1))


def test_refund_request_needs_exactly_one_order_reference() -> None:
    amount = RefundAmountRequest(refund=50, total=100)
    with pytest.raises(ValidationError, match="exactly one"):
        RefundRequest(out_refund_no="R1", amount=amount)
    with pytest.raises(ValidationError, match="exactly one"):
        RefundRequest(
            out_refund_no="R1", out_trade_no="ORDER001", transaction_id="42000", amount=amount
        )
    wire = RefundRequest(out_refund_no="R1", out_trade_no="ORDER001", amount=amount).to_wire()
    assert wire == {
        "out_trade_no": "ORDER001",
        "out_refund_no": "R1",
        "amount": {"refund": 50, "total": 100, "currency": "CNY"},
    }


def test_a_refund_larger_than_the_total_is_refused() -> None:
    with pytest.raises(ValidationError, match="exceed"):
        RefundAmountRequest(refund=101, total=100)


def test_the_vector_7_8_plaintext_parses_into_a_transaction() -> None:
    transaction = Transaction.model_validate_json(v.V3_NOTIFY_PLAINTEXT_78)
    assert transaction.trade_state == "SUCCESS"
    assert transaction.transaction_id == "4200000000202311140000000001"
    assert transaction.amount is not None
    assert transaction.amount.total == 100
    assert transaction.payer is not None
    assert transaction.payer.openid == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    assert transaction.success_time == datetime(
        2023, 11, 14, 22, 13, 30, tzinfo=timezone(timedelta(hours=8))
    )
    assert transaction.success_time.utcoffset() == timedelta(hours=8)


def test_an_observed_unpaid_order_parses_and_unknown_fields_are_ignored() -> None:
    body = (
        '{"amount":{"payer_currency":"CNY","total":1},"appid":"wx1","mchid":"1",'
        '"out_trade_no":"ORDER001","promotion_detail":[],"scene_info":{"device_id":""},'
        '"trade_state":"NOTPAY","trade_state_desc":"订单未支付","brand_new_field":{"a":1}}'
    )
    transaction = Transaction.model_validate_json(body)
    assert transaction.trade_state == "NOTPAY"
    assert transaction.transaction_id is None
    assert transaction.promotion_detail == []


def test_a_money_field_sent_as_a_string_is_malformed() -> None:
    with pytest.raises(ValidationError):
        Transaction.model_validate_json(
            '{"appid":"wx","mchid":"1","out_trade_no":"O1","trade_state":"SUCCESS",'
            '"amount":{"total":"100"}}'
        )


def test_a_refund_response_parses_with_from_and_keeps_status() -> None:
    refund = Refund.model_validate_json(
        '{"refund_id":"50000000382019052709732678859","out_refund_no":"R1",'
        '"transaction_id":"4200000000202311140000000001","out_trade_no":"O1",'
        '"channel":"ORIGINAL","user_received_account":"招商银行信用卡0403",'
        '"create_time":"2020-12-01T16:18:12+08:00","status":"PROCESSING",'
        '"funds_account":"UNSETTLED","amount":{"total":100,"refund":50,'
        '"from":[{"account":"AVAILABLE","amount":50}],"payer_total":100,"payer_refund":50,'
        '"settlement_refund":50,"settlement_total":100,"discount_refund":0,"currency":"CNY"},'
        '"promotion_detail":[]}'
    )
    assert refund.status == "PROCESSING"
    assert refund.amount.from_[0].amount == 50


def test_the_refund_notification_resource_uses_refund_status() -> None:
    resource = RefundResource.model_validate_json(
        '{"mchid":"1230000109","out_trade_no":"O1","transaction_id":"42","out_refund_no":"R1",'
        '"refund_id":"50","refund_status":"SUCCESS","success_time":"2020-12-01T16:18:12+08:00",'
        '"user_received_account":"支付用户零钱","amount":{"total":100,"refund":50,'
        '"payer_total":100,"payer_refund":50}}'
    )
    assert resource.refund_status == "SUCCESS"
    with pytest.raises(ValidationError):
        RefundResource.model_validate_json(
            resource.model_dump_json().replace('"refund_status"', '"status"')
        )


@pytest.mark.parametrize(
    ("missing", "field"),
    [("transaction_id", "transaction_id"), ("amount", "amount"), ("total", "amount.total")],
)
def test_a_success_transaction_missing_a_field_parses_with_none(missing: str, field: str) -> None:
    data = json.loads(v.V3_NOTIFY_PLAINTEXT_78)
    (data["amount"] if missing == "total" else data).pop(missing)
    transaction = Transaction.model_validate(data)
    assert transaction.trade_state == "SUCCESS"
    if field == "amount.total":
        assert transaction.amount is not None
        assert transaction.amount.total is None
    else:
        assert getattr(transaction, field) is None


@pytest.mark.parametrize("missing", ["refund_id", "amount", "amount.refund"])
def test_a_success_refund_missing_a_field_parses_with_none(missing: str) -> None:
    resource = {
        "mchid": "1230000109",
        "out_trade_no": "O1",
        "transaction_id": "42",
        "out_refund_no": "R1",
        "refund_id": "50",
        "refund_status": "SUCCESS",
        "amount": {"total": 100, "refund": 50, "payer_total": 100, "payer_refund": 50},
    }
    answer = {**resource, "status": "SUCCESS", "amount": dict(resource["amount"])}
    for data in (resource, answer):
        if missing == "amount.refund":
            data["amount"] = {k: v for k, v in data["amount"].items() if k != "refund"}
        else:
            del data[missing]
    parsed = (RefundResource.model_validate(resource), Refund.model_validate(answer))
    for model in parsed:
        if missing == "amount.refund":
            assert model.amount is not None
            assert model.amount.refund is None
        else:
            assert getattr(model, missing) is None
