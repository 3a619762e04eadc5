"""The /sandbox/ controls: merchants, clock, requestPayment, cashier page, refunds, orders."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .flows import login, new_no, pay_v3, prepay, request_payment, v3_pay_params

CONTRACT_FIELDS = {
    "mchid",
    "appid",
    "app_secret",
    "api_v2_key",
    "api_v3_key",
    "merchant_serial_no",
    "merchant_private_key_pem",
    "platform_serial_no",
    "platform_certificate_pem",
    "wechatpay_public_key_id",
    "wechatpay_public_key_pem",
}


def test_a_new_merchant_has_every_contract_field_and_fresh_keys(http: httpx.Client) -> None:
    created = http.post("/sandbox/merchants")
    assert created.status_code == 201
    merchant = created.json()
    assert set(merchant) >= CONTRACT_FIELDS
    assert merchant["key_mode"] == "public_key"
    assert merchant["platform_serial_no"] is None
    assert merchant["platform_certificate_pem"] is None
    assert merchant["wechatpay_public_key_id"].startswith("PUB_KEY_ID_")
    assert merchant["merchant_private_key_pem"].startswith("-----BEGIN PRIVATE KEY-----")
    assert merchant["wechatpay_public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert len(merchant["api_v3_key"]) == len(merchant["api_v2_key"]) == 32
    assert len(merchant["merchant_serial_no"]) == 40
    certificate = http.post("/sandbox/merchants", json={"key_mode": "certificate"}).json()
    assert len(certificate["platform_serial_no"]) == 40
    assert certificate["platform_certificate_pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert http.get(f"/sandbox/merchants/{merchant['mchid']}").json() == merchant
    listed = {m["mchid"] for m in http.get("/sandbox/merchants").json()["data"]}
    assert {merchant["mchid"], certificate["mchid"]} <= listed


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"key_mode": "both"}, 400),
        ({"colour": "red"}, 400),
        ({"api_v3_key": "short"}, 400),
        ({"name": 5}, 400),
    ],
)
def test_bad_merchant_requests_are_refused(
    http: httpx.Client, body: dict[str, Any], status: int
) -> None:
    assert http.post("/sandbox/merchants", json=body).status_code == status


def test_unknown_sandbox_things_are_404_json(http: httpx.Client) -> None:
    assert http.get("/sandbox/merchants/1").json()["code"] == "NOT_FOUND"
    assert http.get("/sandbox/nothing").status_code == 404
    assert http.delete("/sandbox/clock").status_code == 405


def test_the_clock_moves_forward_only(http: httpx.Client) -> None:
    before = http.get("/sandbox/clock").json()
    after = http.post("/sandbox/clock", json={"advance_seconds": 90}).json()
    assert after["unix"] - before["unix"] == pytest.approx(90)
    assert "delivered" in after
    assert http.post("/sandbox/clock", json={"advance_seconds": -1}).status_code == 400
    assert http.post("/sandbox/clock", json={"advance_seconds": "1"}).status_code == 400
    assert http.post("/sandbox/clock", content=b"nope").status_code == 400


def test_request_payment_reports_type_errors_like_the_wechat_client(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    openid = login(v3, merchant)
    _, prepay_id = prepay(v3, merchant, openid)
    params = v3_pay_params(merchant, prepay_id, openid)
    numeric = {**params, "timeStamp": int(params["timeStamp"])}
    assert request_payment(v3, numeric) == (
        "requestPayment:fail parameter error: parameter.timeStamp should be String instead of Number;"
    )
    missing = {k: v for k, v in params.items() if k != "paySign"}
    assert request_payment(v3, missing).endswith(
        "parameter.paySign should be String instead of Undefined;"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda p: p.update(paySign=p["paySign"][:-4] + "AAA="),
            "requestPayment:fail 支付验证签名失败",
        ),
        (lambda p: p.update(signType="MD5"), "requestPayment:fail 支付验证签名失败"),
        (lambda p: p.update(package="prepay_id=wx000"), "requestPayment:fail prepay_id参数错误"),
        (lambda p: p.update(package="wx000"), "requestPayment:fail prepay_id参数错误"),
        (
            lambda p: p.update(appId="wx0000000000000000"),
            "requestPayment:fail appid与prepay_id不匹配",
        ),
        (
            lambda p: p.update(openid="oSomeoneElse0001"),
            "requestPayment:fail 下单账号与支付账号不一致，请核实后再支付",
        ),
        (lambda p: p.update(action="cancel"), "requestPayment:fail cancel"),
        (lambda p: p.update(action="fail"), "requestPayment:fail 支付失败"),
    ],
    ids=[
        "bad-sign",
        "sign-type",
        "unknown-prepay",
        "bad-package",
        "appid",
        "payer",
        "cancel",
        "fail",
    ],
)
def test_request_payment_refuses_what_the_wechat_client_refuses(
    v3: httpx.Client, merchant: dict[str, Any], change: Any, expected: str
) -> None:
    openid = login(v3, merchant)
    out_trade_no, prepay_id = prepay(v3, merchant, openid)
    params = v3_pay_params(merchant, prepay_id, openid)
    change(params)
    action = params.pop("action", "confirm")
    assert request_payment(v3, params, action) == expected
    order = v3.get(f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={merchant['mchid']}")
    assert order.json()["trade_state"] == "NOTPAY"


def test_paying_twice_is_refused(v3: httpx.Client, merchant: dict[str, Any]) -> None:
    openid = login(v3, merchant)
    _, prepay_id = prepay(v3, merchant, openid)
    params = v3_pay_params(merchant, prepay_id, openid)
    assert request_payment(v3, params) == "requestPayment:ok"
    assert request_payment(v3, params) == "requestPayment:fail 该订单已支付"
    bad_action = v3.post("/sandbox/requestPayment", json={**params, "action": "maybe"})
    assert bad_action.status_code == 400
    assert v3.post("/sandbox/requestPayment", content=b"{").status_code == 400


def test_the_cashier_page_shows_the_order_escaped_and_has_test_ids(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    openid = login(v3, merchant)
    hostile = '<script>alert("x")</script>{{boot}}'
    _, prepay_id = prepay(v3, merchant, openid, description=hostile, attach="<img src=x onerror=1>")
    params = v3_pay_params(merchant, prepay_id, openid)
    page = v3.get("/sandbox/cashier", params=params)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;{{boot}}" in html
    assert "测试商户&lt;b&gt;" in html
    assert '<span data-testid="cashier-amount">1.00</span>' in html
    for test_id in (
        "cashier-pay",
        "cashier-cancel",
        "cashier-merchant",
        "cashier-description",
        "cashier-result",
    ):
        assert f'data-testid="{test_id}"' in html
    boot = html.split('id="cashier-boot">')[1].split("</script>")[0]
    assert "<" not in boot
    assert json.loads(boot)["params"]["package"] == params["package"]
    assert "wx-cashier-result" in html
    empty = v3.get("/sandbox/cashier")
    assert empty.status_code == 200
    assert '"params": null' in empty.text


def test_cashier_info_serves_the_fragment_form(v3: httpx.Client, merchant: dict[str, Any]) -> None:
    openid = login(v3, merchant)
    _, prepay_id = prepay(v3, merchant, openid)
    info = v3.get("/sandbox/cashier/info", params={"package": f"prepay_id={prepay_id}"}).json()
    assert info == {
        "merchant_name": "测试商户<b>",
        "description": "测试商品",
        "total": 100,
        "amount_yuan": "1.00",
        "trade_state": "NOTPAY",
    }
    assert v3.get("/sandbox/cashier/info", params={"package": "prepay_id=nope"}).status_code == 404


def test_the_cashier_refuses_a_bad_signature_before_the_sheet_can_pay(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    openid = login(v3, merchant)
    out_trade_no, prepay_id = prepay(v3, merchant, openid)
    params = v3_pay_params(merchant, prepay_id, openid)
    assert v3.post("/sandbox/cashier/check", json=params).json() == {"errMsg": None}
    tampered = {**params, "paySign": "A" + params["paySign"][1:]}
    check = v3.post("/sandbox/cashier/check", json=tampered).json()
    assert check == {"errMsg": "requestPayment:fail 支付验证签名失败"}
    order = v3.get(f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={merchant['mchid']}")
    assert order.json()["trade_state"] == "NOTPAY"  # a check never pays


def test_orders_can_be_paid_directly_and_refunds_completed_by_number(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    openid = login(v3, merchant)
    out_trade_no, _ = prepay(v3, merchant, openid)
    paid = v3.post(f"/sandbox/orders/{out_trade_no}/pay", json={"mchid": merchant["mchid"]})
    assert paid.json()["trade_state"] == "SUCCESS"
    again = v3.post(f"/sandbox/orders/{out_trade_no}/pay", json={"mchid": merchant["mchid"]})
    assert again.status_code == 409
    missing = v3.post("/sandbox/orders/NOPE12345/pay", json={"mchid": merchant["mchid"]})
    assert missing.status_code == 404
    assert v3.post("/sandbox/refunds/NOPE/complete", json={"status": "SUCCESS"}).status_code == 404
    assert v3.post("/sandbox/refunds/NOPE/complete", json={"status": "DONE"}).status_code == 400
    refund = {
        "out_trade_no": out_trade_no,
        "out_refund_no": new_no("R"),
        "amount": {"refund": 40, "total": 100, "currency": "CNY"},
    }
    assert v3.post("/v3/refund/domestic/refunds", json=refund).status_code == 200
    # "outcome" is accepted for "status"; no status at all means SUCCESS.
    closed = v3.post(
        f"/sandbox/refunds/{refund['out_refund_no']}/complete", json={"outcome": "ABNORMAL"}
    )
    assert closed.json()["status"] == "ABNORMAL"
    done = v3.post(f"/sandbox/refunds/{refund['out_refund_no']}/complete")
    assert done.json()["status"] == "SUCCESS"


def test_notifications_list_filters_by_order(v3: httpx.Client, merchant: dict[str, Any]) -> None:
    out_trade_no, _ = pay_v3(v3, merchant)
    v3.post("/sandbox/clock", json={"advance_seconds": 0})
    listed = v3.get("/sandbox/notifications", params={"out_trade_no": out_trade_no}).json()
    assert {a["out_trade_no"] for a in listed["data"]} == {out_trade_no}
    assert listed["data"][0]["outcome"] == "failure"  # nothing listens on port 9
    assert any(e["out_trade_no"] == out_trade_no for e in listed["outbox"])
    assert v3.get("/sandbox/notifications", params={"colour": "red"}).status_code == 400
