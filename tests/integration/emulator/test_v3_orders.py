"""API v3 orders over loopback HTTP: prepay, query, close, and their error answers."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from .flows import (
    advance,
    jsapi_body,
    login,
    new_no,
    pay_v3,
    prepay,
    request_payment,
    v3_pay_params,
)
from .harness import V3Signer, verify_signed

JSAPI = "/v3/pay/transactions/jsapi"


def query(v3: httpx.Client, merchant: dict[str, Any], out_trade_no: str) -> httpx.Response:
    return v3.get(f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={merchant['mchid']}")


def test_prepay_answer_is_signed_with_the_public_key_and_carries_every_header(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    openid = login(v3, merchant)
    response = v3.post(JSAPI, json=jsapi_body(merchant, new_no(), openid, "https://m.example/n"))
    assert response.status_code == 200
    prepay_id = response.json()["prepay_id"]
    assert prepay_id.startswith("wx")
    assert len(prepay_id) == 36
    assert response.headers["wechatpay-serial"] == merchant["wechatpay_public_key_id"]
    assert response.headers["wechatpay-signature-type"] == "WECHATPAY2-SHA256-RSA2048"
    assert response.headers["request-id"]
    assert len(response.headers["wechatpay-nonce"]) == 32
    assert verify_signed(response, merchant["wechatpay_public_key_pem"], response.content)


def test_an_order_is_notpay_until_the_user_pays_and_then_success_with_a_transaction_id(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    openid = login(v3, merchant)
    out_trade_no, prepay_id = prepay(v3, merchant, openid, attach="回传")
    unpaid = query(v3, merchant, out_trade_no)
    assert unpaid.status_code == 200
    assert unpaid.json() == {
        "amount": {"payer_currency": "CNY", "total": 100},
        "appid": merchant["appid"],
        "mchid": merchant["mchid"],
        "out_trade_no": out_trade_no,
        "promotion_detail": [],
        "scene_info": {"device_id": ""},
        "trade_state": "NOTPAY",
        "trade_state_desc": "订单未支付",
        "attach": "回传",
    }
    assert request_payment(v3, v3_pay_params(merchant, prepay_id, openid)) == "requestPayment:ok"
    paid = query(v3, merchant, out_trade_no).json()
    assert paid["trade_state"] == "SUCCESS"
    assert paid["transaction_id"].startswith("42000")
    assert len(paid["transaction_id"]) == 28
    assert paid["payer"] == {"openid": openid}
    assert paid["amount"]["payer_total"] == 100
    by_id = v3.get(f"/v3/pay/transactions/id/{paid['transaction_id']}?mchid={merchant['mchid']}")
    assert by_id.json() == paid


def test_repeating_a_prepay_with_identical_parameters_returns_the_same_prepay_id(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    openid = login(v3, merchant)
    body = jsapi_body(merchant, new_no(), openid, "https://m.example/n")
    first = v3.post(JSAPI, json=body).json()["prepay_id"]
    # A client serialising differently (ASCII escapes, spaces) sends the same parameters.
    again = v3.post(JSAPI, content=json.dumps(body).encode())
    assert again.status_code == 200
    assert again.json()["prepay_id"] == first


def test_repeating_a_prepay_with_changed_parameters_is_refused_as_a_duplicate_number(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    openid = login(v3, merchant)
    out_trade_no, _ = prepay(v3, merchant, openid)
    changed = jsapi_body(merchant, out_trade_no, openid, "http://127.0.0.1:9/notify")
    changed["amount"]["total"] = 200
    response = v3.post(JSAPI, json=changed)
    assert response.status_code == 400
    assert response.json() == {"code": "INVALID_REQUEST", "message": "201 商户订单号重复"}


def test_a_paid_order_number_cannot_be_ordered_again(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    out_trade_no, openid = pay_v3(v3, merchant)
    response = v3.post(
        JSAPI, json=jsapi_body(merchant, out_trade_no, openid, "https://m.example/n")
    )
    assert response.status_code == 403
    assert response.json()["code"] == "OUT_TRADE_NO_USED"


def test_closing_answers_a_signed_empty_204_and_the_order_can_no_longer_be_ordered(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    openid = login(v3, merchant)
    out_trade_no, prepay_id = prepay(v3, merchant, openid)
    close_path = f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close"
    closed = v3.post(close_path, json={"mchid": merchant["mchid"]})
    assert closed.status_code == 204
    assert closed.content == b""
    assert closed.headers["content-type"].startswith("application/json")
    assert verify_signed(closed, merchant["wechatpay_public_key_pem"], b"")
    assert query(v3, merchant, out_trade_no).json()["trade_state"] == "CLOSED"
    assert v3.post(close_path, json={"mchid": merchant["mchid"]}).status_code == 204
    again = v3.post(
        JSAPI,
        json=jsapi_body(merchant, out_trade_no, openid, "http://127.0.0.1:9/notify"),
    )
    assert (again.status_code, again.json()["code"]) == (400, "ORDER_CLOSED")
    payment = request_payment(v3, v3_pay_params(merchant, prepay_id, openid))
    assert payment == "requestPayment:fail 该订单已关闭"


def test_closing_an_unknown_order_answers_204_as_observed_at_wechat(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    response = v3.post(
        "/v3/pay/transactions/out-trade-no/NEVER_ORDERED_1/close", json={"mchid": merchant["mchid"]}
    )
    assert response.status_code == 204


def test_closing_a_paid_order_is_refused(v3: httpx.Client, merchant: dict[str, Any]) -> None:
    out_trade_no, _ = pay_v3(v3, merchant)
    response = v3.post(
        f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close", json={"mchid": merchant["mchid"]}
    )
    assert (response.status_code, response.json()["code"]) == (400, "INVALID_REQUEST")


def test_an_order_past_time_expire_is_closed_on_the_emulator_clock(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    now = advance(v3, 0)["now"]
    expire = (datetime.fromisoformat(now) + timedelta(minutes=2)).isoformat()
    openid = login(v3, merchant)
    out_trade_no, _ = prepay(v3, merchant, openid, time_expire=expire)
    assert query(v3, merchant, out_trade_no).json()["trade_state"] == "NOTPAY"
    advance(v3, 121)
    assert query(v3, merchant, out_trade_no).json()["trade_state"] == "CLOSED"


def test_a_prepay_id_expires_after_two_hours(v3: httpx.Client, merchant: dict[str, Any]) -> None:
    openid = login(v3, merchant)
    out_trade_no, prepay_id = prepay(v3, merchant, openid)
    advance(v3, 7200)
    payment = request_payment(v3, v3_pay_params(merchant, prepay_id, openid))
    assert payment == "requestPayment:fail prepay_id已失效，请重新下单"
    fresh = v3.post(
        JSAPI, json=jsapi_body(merchant, out_trade_no, openid, "http://127.0.0.1:9/notify")
    ).json()["prepay_id"]
    assert fresh != prepay_id
    assert request_payment(v3, v3_pay_params(merchant, fresh, openid)) == "requestPayment:ok"


def test_an_unknown_order_is_404_order_not_exist(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    response = query(v3, merchant, "UNKNOWN_ORDER_42")
    assert response.status_code == 404
    assert response.json() == {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
    assert verify_signed(response, merchant["wechatpay_public_key_pem"], response.content)
    bad_id = v3.get(f"/v3/pay/transactions/id/123?mchid={merchant['mchid']}")
    assert (bad_id.status_code, bad_id.json()["code"]) == (400, "PARAM_ERROR")
    unknown_id = v3.get(f"/v3/pay/transactions/id/{'4' * 28}?mchid={merchant['mchid']}")
    assert (unknown_id.status_code, unknown_id.json()["code"]) == (404, "ORDER_NOT_EXIST")


def test_a_query_without_mchid_is_a_param_error(v3: httpx.Client) -> None:
    response = v3.get("/v3/pay/transactions/out-trade-no/ABCDEF123")
    assert response.status_code == 400
    assert response.json()["detail"]["location"] == "query"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("appid"), "/appid"),
        (lambda b: b["amount"].update(total=0), "/amount/total"),
        (lambda b: b["amount"].update(total="100"), "/amount/total"),
        (lambda b: b["amount"].update(total=True), "/amount/total"),
        (lambda b: b.update(out_trade_no="bad no!"), "/out_trade_no"),
        (lambda b: b.update(out_trade_no="12345"), "/out_trade_no"),
        (lambda b: b.update(description="x" * 128), "/description"),
        (lambda b: b.update(description="红包🧧"), "/description"),
        (lambda b: b.update(notify_url="https://m.example/n?x=1"), "/notify_url"),
        (lambda b: b["amount"].update(currency="USD"), "/amount/currency"),
        (lambda b: b.update(payer=None), "/payer"),
        (lambda b: b.update(time_expire="tomorrow"), "/time_expire"),
    ],
    ids=[
        "missing-appid",
        "zero-amount",
        "string-amount",
        "bool-amount",
        "bad-charset",
        "too-short-no",
        "long-description",
        "emoji",
        "notify-url-query",
        "currency",
        "null",
        "time-expire",
    ],
)
def test_a_bad_field_is_a_param_error_naming_it(
    v3: httpx.Client, merchant: dict[str, Any], change: Any, field: str
) -> None:
    body = jsapi_body(merchant, new_no(), "oUser", "https://m.example/n")
    change(body)
    response = v3.post(JSAPI, json=body)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "PARAM_ERROR"
    assert f"“/body{field}”" in error["message"]
    assert error["detail"]["location"] == "body"
    assert error["detail"]["field"] == field


def test_bad_json_is_a_param_error_and_the_emulator_keeps_serving(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    for body in (b"{not json", b"[1, 2]", b"", "\ufffe".encode("utf-16")):
        response = v3.post(JSAPI, content=body)
        assert response.status_code == 400
        assert response.json()["code"] == "PARAM_ERROR"
        assert response.json()["detail"]["location"] == "body"
    prepay(v3, merchant, login(v3, merchant))


def test_an_appid_not_bound_to_the_merchant_is_refused(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    body = jsapi_body(
        merchant, new_no(), "oUser", "https://m.example/n", appid="wx0000000000000000"
    )
    response = v3.post(JSAPI, json=body)
    assert (response.status_code, response.json()["code"]) == (400, "APPID_MCHID_NOT_MATCH")


def test_an_openid_of_another_appid_is_refused(
    v3: httpx.Client, http: httpx.Client, merchant: dict[str, Any]
) -> None:
    other = http.post("/sandbox/merchants", auth=None).json()
    foreign = login(v3, other)
    body = jsapi_body(merchant, new_no(), foreign, "https://m.example/n")
    response = v3.post(JSAPI, json=body)
    assert response.status_code == 400
    assert response.json() == {"code": "PARAM_ERROR", "message": "appid和openid不匹配"}


def test_acting_for_another_merchant_is_refused(
    v3: httpx.Client, http: httpx.Client, merchant: dict[str, Any]
) -> None:
    other = http.post("/sandbox/merchants", auth=None).json()
    foreign = jsapi_body(merchant, new_no(), "oUser", "https://m.example/n", mchid=other["mchid"])
    assert v3.post(JSAPI, json=foreign).json()["code"] == "NO_AUTH"
    unknown = jsapi_body(merchant, new_no(), "oUser", "https://m.example/n", mchid="1000000000")
    assert v3.post(JSAPI, json=unknown).json()["code"] == "MCH_NOT_EXISTS"


def test_unknown_paths_wrong_methods_and_huge_bodies_get_wechat_style_answers(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    missing = v3.get("/v3/pay/transactions/nothing-here")
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
    wrong = v3.get(JSAPI)
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "METHOD_NOT_ALLOWED"
    assert "POST" in wrong.headers["allow"]
    huge = v3.post(JSAPI, content=b"{" + b" " * (1024 * 1024 + 1) + b"}")
    assert (huge.status_code, huge.json()["code"]) == (413, "PARAM_ERROR")
    prepay(v3, merchant, login(v3, merchant))


def test_signatures_are_verified_over_the_raw_bytes_with_params_in_any_order(
    http: httpx.Client, merchant: dict[str, Any]
) -> None:
    body = jsapi_body(merchant, new_no(), "oUser", "https://m.example/n")
    wechatpayv3_order = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
    escaped = json.dumps(body).encode()  # \uXXXX escapes, spaces after separators
    response = http.post(JSAPI, content=escaped, auth=V3Signer(merchant, order=wechatpayv3_order))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("signer", "message"),
    [
        (
            {"clock": lambda: 1_000_000_000},
            "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟",
        ),
        (
            {"clock": lambda: time.time() * 1000},
            "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟",
        ),
    ],
    ids=["stale", "milliseconds"],
)
def test_a_timestamp_outside_five_minutes_is_a_401_sign_error(
    http: httpx.Client, merchant: dict[str, Any], signer: dict[str, Any], message: str
) -> None:
    response = http.get("/v3/certificates", auth=V3Signer(merchant, **signer))
    assert response.status_code == 401
    assert response.json() == {"code": "SIGN_ERROR", "message": message}


def test_missing_tampered_or_misattributed_signatures_are_refused(
    http: httpx.Client, merchant: dict[str, Any]
) -> None:
    assert http.get("/v3/certificates").json()["code"] == "SIGN_ERROR"
    garbled = http.get("/v3/certificates", headers={"Authorization": "WECHATPAY2-SHA256-RSA2048 x"})
    assert garbled.status_code == 401

    def tamper(request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = request.headers["Authorization"].replace(
            'signature="', 'signature="AAAA'
        )
        return request

    signer = V3Signer(merchant)
    request = http.build_request("GET", "/v3/certificates")
    request = next(signer.auth_flow(request))
    bad = http.send(tamper(request))
    assert bad.status_code == 401
    assert bad.json() == {"code": "SIGN_ERROR", "message": "错误的签名，验签失败"}
    wrong_serial = http.get(
        "/v3/certificates", auth=V3Signer({**merchant, "merchant_serial_no": "AB" * 20})
    )
    assert wrong_serial.status_code == 401
    unknown = http.get("/v3/certificates", auth=V3Signer({**merchant, "mchid": "1000000000"}))
    assert (unknown.status_code, unknown.json()["code"]) == (400, "MCH_NOT_EXISTS")
