"""Pure parts of the emulator: Authorization parsing, XML codec, faults, state machine, bills."""

from __future__ import annotations

from typing import Any

import pytest

from mppay.emulator import BusinessError, Emulator, FaultError, SandboxClock
from mppay.emulator.auth import parse_authorization
from mppay.emulator.bills import build_bill, fee_fen, yuan
from mppay.emulator.clock import beijing_date
from mppay.emulator.faults import Faults
from mppay.emulator.payments import OrderRequest, RefundRequest
from mppay.emulator.xmlcodec import XmlFormatError, build_xml, parse_xml
from tests import spec_vectors as v

START = 1_700_000_000.0
AUTH = 'WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",timestamp="2",serial_no="S",signature="x"'


def test_authorization_tolerates_spaces_after_commas() -> None:
    assert parse_authorization(AUTH.replace(",", ", "))["serial_no"] == "S"


@pytest.mark.parametrize(
    "header",
    [
        AUTH.replace("WECHATPAY2-SHA256-RSA2048", "Bearer"),
        AUTH.replace('nonce_str="n",', ""),
        AUTH + ',mchid="2"',
        AUTH.replace('"x"', "x"),
        "WECHATPAY2-SHA256-RSA2048",
    ],
    ids=["scheme", "missing", "duplicate", "unquoted", "empty"],
)
def test_malformed_authorization_is_refused(header: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_authorization(header)


def test_xml_puts_fees_bare_and_splits_cdata_terminators() -> None:
    body = build_xml({"total_fee": "1", "coupon_fee_0": "2", "attach": "a]]>b", "body": "1"})
    assert body == (
        b"<xml><total_fee>1</total_fee><coupon_fee_0>2</coupon_fee_0>"
        b"<attach><![CDATA[a]]]]><![CDATA[>b]]></attach><body><![CDATA[1]]></body></xml>"
    )
    assert parse_xml(body)["attach"] == "a]]>b"


@pytest.mark.parametrize(
    "body",
    [b"<xml><a><b>1</b></a></xml>", b"<xml><a>1</a><a>2</a></xml>", b'<xml><a x="1"/></xml>'],
)
def test_xml_that_is_not_flat_is_refused(body: bytes) -> None:
    with pytest.raises(XmlFormatError):
        parse_xml(body)


def test_fault_streams_are_seeded_per_scope_and_merchants_override_fields() -> None:
    faults = Faults()
    faults.put({"seed": 1, "api_http_500_rate": 0.5, "notify_drop_rate": 1.0})
    faults.put({"mchid": "m", "api_http_500_rate": 0.0})

    def kinds(mchid: str | None) -> list[str | None]:
        plans = [faults.plan_api(mchid, "/v3/x") for _ in range(20)]
        return [plan.kind if plan else "out of scope" for plan in plans]

    first = kinds(None)
    faults.put({"seed": 1, "api_http_500_rate": 0.5, "notify_drop_rate": 1.0})
    assert kinds(None) == first
    assert set(first) == {None, "http_500"}
    assert set(kinds("m")) == {None}
    assert faults.plan_notify("m", can_probe=True).drop  # inherited from the global scope
    assert faults.plan_api(None, "/sandbox/faults") is None
    with pytest.raises(FaultError):
        faults.put({"api_timeout_rate": 0.7, "api_system_error_rate": 0.7})


def _emulator() -> tuple[Emulator, Any]:
    emulator = Emulator(clock=SandboxClock(start=START), refund_delay_seconds=10)
    emulator.create_merchant(
        mchid=v.V3_MCHID,
        appid=v.V3_APPID,
        merchant_private_key_pem=v.MERCHANT_KEY_PEM,
        wechatpay_private_key_pem=v.PLATFORM_KEY_PEM,
    )
    return emulator, emulator.state.merchants[v.V3_MCHID]


def _paid(emulator: Emulator, merchant: Any, no: str, total: int = 100) -> None:
    request = OrderRequest(
        appid=merchant.appid,
        out_trade_no=no,
        description="d",
        total=total,
        currency="CNY",
        openid="oUser",
        notify_url="",
        attach="",
        time_expire=None,
        fingerprint=no,
    )
    emulator.payments.prepay(merchant, request, api="v3", sign_type="RSA")
    emulator.pay(merchant.mchid, no)


def _refund(emulator: Emulator, merchant: Any, no: str, refund_no: str, amount: int) -> Any:
    request = RefundRequest(
        out_refund_no=refund_no, refund=amount, total=100, fingerprint=str(amount), out_trade_no=no
    )
    return emulator.payments.refund(merchant, request, api="v3")


def test_a_closed_refund_gives_the_amount_back_and_abnormal_can_still_succeed() -> None:
    emulator, merchant = _emulator()
    _paid(emulator, merchant, "ORDER001")
    _refund(emulator, merchant, "ORDER001", "R1", 100)
    emulator.complete_refund("R1", "CLOSED")
    assert emulator.find_order(merchant.mchid, "ORDER001").refundable == 100
    _refund(emulator, merchant, "ORDER001", "R2", 100)
    emulator.complete_refund("R2", "ABNORMAL")
    assert emulator.complete_refund("R2", "SUCCESS")["status"] == "SUCCESS"
    with pytest.raises(BusinessError) as final:
        emulator.complete_refund("R2", "CLOSED")
    assert final.value.kind == "REFUND_FINAL"


def test_refunds_succeed_by_themselves_after_the_configured_delay() -> None:
    emulator, merchant = _emulator()
    _paid(emulator, merchant, "ORDER002")
    refund = _refund(emulator, merchant, "ORDER002", "R3", 10)
    emulator.advance_clock(9)
    emulator.tick()
    assert refund.status == "PROCESSING"
    emulator.advance_clock(1)
    emulator.tick()
    assert refund.status == "SUCCESS"


def test_an_order_paid_more_than_a_year_ago_cannot_be_refunded() -> None:
    emulator, merchant = _emulator()
    _paid(emulator, merchant, "ORDER003")
    emulator.advance_clock(366 * 86400)
    with pytest.raises(BusinessError) as overdue:
        _refund(emulator, merchant, "ORDER003", "R4", 1)
    assert overdue.value.kind == "TRADE_OVERDUE"


def test_bill_amounts_are_yuan_and_fees_round_half_up_to_a_fen() -> None:
    assert (yuan(1), yuan(100), yuan(-25), yuan(12345)) == ("0.01", "1.00", "-0.25", "123.45")
    assert (fee_fen(100), fee_fen(83), fee_fen(84), fee_fen(1)) == (1, 0, 1, 0)
    emulator, merchant = _emulator()
    _paid(emulator, merchant, "ORDER004", total=10000)
    bill = build_bill(emulator.state, merchant, beijing_date(START), "SUCCESS")
    assert bill is not None
    lines = bill.decode().split("\r\n")
    assert len(lines[0].split(",")) == len(lines[1].split(",")) == 20
    assert lines[1].split(",")[-4:] == ["`0.60000", "`0.60%", "`100.00", "`"]
    assert build_bill(emulator.state, merchant, beijing_date(START), "REFUND") is None
