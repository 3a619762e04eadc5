from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from mppay.wechatpay.errors import MalformedMessageError
from mppay.wechatpay.v2.models import (
    BEIJING,
    UnifiedOrderRequest,
    UnifiedOrderResult,
    V2Order,
    V2PaymentNotification,
    V2RefundQueryResult,
    V2RefundRequest,
    V2RefundResult,
)


def order_request(**overrides: Any) -> UnifiedOrderRequest:
    fields: dict[str, Any] = {
        "body": "测试商品",
        "out_trade_no": "20150806125346",
        "total_fee": 88,
        "spbill_create_ip": "123.12.12.123",
        "notify_url": "https://www.example.com/wxpay/notify",
        "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    }
    fields.update(overrides)
    return UnifiedOrderRequest(**fields)


def refund_request(**overrides: Any) -> V2RefundRequest:
    fields: dict[str, Any] = {
        "out_refund_no": "R20150806125346",
        "out_trade_no": "20150806125346",
        "total_fee": 100,
        "refund_fee": 40,
    }
    fields.update(overrides)
    return V2RefundRequest(**fields)


def paid_order_fields(**overrides: str) -> dict[str, str]:
    fields = {
        "return_code": "SUCCESS",
        "result_code": "SUCCESS",
        "appid": "wxd678efh567hg6787",
        "mch_id": "1230000109",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "out_trade_no": "20150806125346",
        "transaction_id": "4200000000202311140000000001",
        "total_fee": "88",
        "cash_fee": "88",
        "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "time_end": "20231114221330",
        "attach": "",
        "bank_type": "OTHERS",
        "some_future_field": "ignored",
    }
    fields.update(overrides)
    return fields


def test_a_unified_order_renders_wire_fields_as_strings() -> None:
    assert order_request(attach="a1").to_fields() == {
        "body": "测试商品",
        "out_trade_no": "20150806125346",
        "total_fee": "88",
        "spbill_create_ip": "123.12.12.123",
        "notify_url": "https://www.example.com/wxpay/notify",
        "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "trade_type": "JSAPI",
        "attach": "a1",
    }


def test_time_expire_is_rendered_in_beijing_time() -> None:
    fields = order_request(
        time_expire=datetime(2023, 11, 14, 14, 13, 30, tzinfo=UTC),
        time_start=datetime(2023, 11, 14, 6, 0, tzinfo=timezone(timedelta(hours=-8))),
    ).to_fields()
    assert fields["time_expire"] == "20231114221330"
    assert fields["time_start"] == "20231114220000"


def test_a_naive_time_expire_is_refused() -> None:
    with pytest.raises(ValidationError):
        order_request(time_expire=datetime(2023, 11, 14, 22, 0))


@pytest.mark.parametrize("amount", [1.0, "88", True, 0, -1])
def test_request_amounts_must_be_positive_int_fen(amount: object) -> None:
    with pytest.raises(ValidationError):
        order_request(total_fee=amount)


@pytest.mark.parametrize("number", ["", "has space", "x" * 33, "semi;colon", "中文"])
def test_out_trade_no_follows_wechat_rules(number: str) -> None:
    with pytest.raises(ValidationError):
        order_request(out_trade_no=number)


def test_notify_url_must_not_carry_a_query_string() -> None:
    with pytest.raises(ValidationError):
        order_request(notify_url="https://example.com/notify?order=1")


def test_unknown_request_arguments_are_refused() -> None:
    with pytest.raises(ValidationError):
        order_request(totalfee=88)


def test_a_refund_names_the_order_by_exactly_one_identifier() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        refund_request(transaction_id="4200000000202311140000000001")
    with pytest.raises(ValidationError, match="exactly one"):
        refund_request(out_trade_no=None)
    fields = refund_request(out_trade_no=None, transaction_id="42000").to_fields()
    assert fields == {
        "out_refund_no": "R20150806125346",
        "total_fee": "100",
        "refund_fee": "40",
        "transaction_id": "42000",
    }


def test_a_refund_cannot_exceed_the_order_total() -> None:
    with pytest.raises(ValidationError, match="exceed"):
        refund_request(refund_fee=101)


def test_a_paid_order_parses_with_int_fen_and_an_aware_beijing_time() -> None:
    order = V2Order.from_fields(paid_order_fields())
    assert order.is_paid
    assert order.total_fee == 88
    assert order.time_end == datetime(2023, 11, 14, 14, 13, 30, tzinfo=UTC)
    assert order.time_end is not None
    assert order.time_end.utcoffset() == timedelta(hours=8)
    assert order.time_end.tzinfo is BEIJING
    assert order.attach is None


@pytest.mark.parametrize("amount", ["1.00", "-1", " 1", "1e3", "０", "abc"])
def test_received_amounts_must_be_ascii_digits(amount: str) -> None:
    with pytest.raises(MalformedMessageError, match="total_fee"):
        V2Order.from_fields(paid_order_fields(total_fee=amount))


@pytest.mark.parametrize("time_end", ["2023-11-14 22:13:30", "20231332221330", "2023111422133"])
def test_received_compact_times_must_be_real_yyyymmddhhmmss(time_end: str) -> None:
    with pytest.raises(MalformedMessageError, match="time_end"):
        V2Order.from_fields(paid_order_fields(time_end=time_end))


def test_an_unpaid_order_needs_no_transaction_id() -> None:
    order = V2Order.from_fields(
        {"trade_state": "NOTPAY", "out_trade_no": "A1", "trade_state_desc": "订单未支付"}
    )
    assert not order.is_paid
    assert order.transaction_id is None


@pytest.mark.parametrize("missing", ["transaction_id", "total_fee"])
def test_a_signed_success_order_missing_a_field_parses_so_the_caller_can_refuse_it(
    missing: str,
) -> None:
    fields = paid_order_fields()
    del fields[missing]
    order = V2Order.from_fields(fields)
    assert order.is_paid
    assert getattr(order, missing) is None
    assert V2Order.from_fields(paid_order_fields(**{missing: ""})) == order


@pytest.mark.parametrize("missing", ["transaction_id", "total_fee"])
def test_a_payment_notification_missing_a_field_parses_with_none(missing: str) -> None:
    fields = paid_order_fields() | {"trade_type": "JSAPI"}
    del fields[missing]
    notification = V2PaymentNotification.from_fields(fields)
    assert notification.is_paid
    assert getattr(notification, missing) is None


@pytest.mark.parametrize("missing", ["refund_id", "refund_fee"])
def test_a_refund_query_record_missing_a_field_parses_with_none(missing: str) -> None:
    fields = {
        "out_trade_no": "A1",
        "total_fee": "100",
        "refund_count": "1",
        "out_refund_no_0": "R1",
        "refund_id_0": "50001",
        "refund_fee_0": "40",
        "refund_status_0": "SUCCESS",
    }
    del fields[f"{missing}_0"]
    (record,) = V2RefundQueryResult.from_fields(fields).refunds
    assert record.refund_status == "SUCCESS"
    assert getattr(record, missing) is None


def test_malformed_messages_name_the_field_but_not_its_value() -> None:
    with pytest.raises(MalformedMessageError) as caught:
        V2Order.from_fields(paid_order_fields(total_fee="SECRET-ish"))
    assert "total_fee" in str(caught.value)
    assert "SECRET-ish" not in str(caught.value)


def test_received_models_are_frozen() -> None:
    order = V2Order.from_fields(paid_order_fields())
    with pytest.raises(ValidationError):
        order.total_fee = 1  # type: ignore[misc]


def test_a_unified_order_result_needs_a_prepay_id() -> None:
    result = UnifiedOrderResult.from_fields({"prepay_id": "wx201410", "trade_type": "JSAPI"})
    assert result.prepay_id == "wx201410"
    with pytest.raises(MalformedMessageError, match="prepay_id"):
        UnifiedOrderResult.from_fields({"trade_type": "JSAPI"})


def test_a_refund_result_parses() -> None:
    result = V2RefundResult.from_fields(
        {
            "transaction_id": "42",
            "out_trade_no": "A1",
            "out_refund_no": "R1",
            "refund_id": "50000",
            "refund_fee": "40",
            "total_fee": "100",
            "cash_fee": "100",
        }
    )
    assert (result.refund_fee, result.total_fee, result.cash_fee) == (40, 100, 100)


def test_indexed_refund_query_fields_become_a_list_of_records() -> None:
    result = V2RefundQueryResult.from_fields(
        {
            "out_trade_no": "A1",
            "transaction_id": "42",
            "total_fee": "100",
            "refund_count": "2",
            "out_refund_no_0": "R1",
            "refund_id_0": "50001",
            "refund_fee_0": "40",
            "refund_status_0": "SUCCESS",
            "refund_success_time_0": "2018-11-19 16:24:13",
            "refund_recv_accout_0": "支付用户的零钱",
            "out_refund_no_1": "R2",
            "refund_id_1": "50002",
            "refund_fee_1": "60",
            "refund_status_1": "PROCESSING",
        }
    )
    assert [r.out_refund_no for r in result.refunds] == ["R1", "R2"]
    first, second = result.refunds
    assert first.refund_fee == 40
    assert first.success_time == datetime(2018, 11, 19, 16, 24, 13, tzinfo=BEIJING)
    assert first.refund_recv_accout == "支付用户的零钱"
    assert second.success_time is None
    assert second.refund_status == "PROCESSING"


def test_a_refund_query_missing_an_indexed_refund_is_malformed() -> None:
    with pytest.raises(MalformedMessageError, match="#1"):
        V2RefundQueryResult.from_fields(
            {
                "out_trade_no": "A1",
                "total_fee": "100",
                "refund_count": "2",
                "out_refund_no_0": "R1",
                "refund_id_0": "1",
                "refund_fee_0": "1",
                "refund_status_0": "SUCCESS",
            }
        )


def test_a_refund_query_with_a_bad_count_is_malformed() -> None:
    with pytest.raises(MalformedMessageError, match="refund_count"):
        V2RefundQueryResult.from_fields(
            {"out_trade_no": "A1", "total_fee": "1", "refund_count": "x"}
        )


def test_a_failed_payment_notification_is_typed_but_not_paid() -> None:
    notification = V2PaymentNotification.from_fields(
        paid_order_fields(result_code="FAIL", err_code="BANKERROR", err_code_des="银行系统异常")
        | {"trade_type": "JSAPI"}
    )
    assert not notification.is_paid
    assert notification.err_code == "BANKERROR"


def test_a_payment_notification_with_an_unknown_result_code_is_malformed() -> None:
    with pytest.raises(MalformedMessageError, match="result_code"):
        V2PaymentNotification.from_fields(
            paid_order_fields(result_code="MAYBE") | {"trade_type": "JSAPI"}
        )
