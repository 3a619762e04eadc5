"""API v2 over loopback HTTP: XML in/out, MD5 and HMAC-SHA256, return/result codes, XXE."""

from __future__ import annotations

import gzip
import hashlib
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from .flows import advance, login, new_no, request_payment, v2_pay_params, v2_post
from .harness import parse_v2, v2_body, v2_verify


def order_params(openid: str, out_trade_no: str, **extra: str) -> dict[str, str]:
    return {
        "body": "v2测试商品",
        "out_trade_no": out_trade_no,
        "total_fee": "88",
        "spbill_create_ip": "127.0.0.1",
        "notify_url": "http://127.0.0.1:9/v2notify",
        "trade_type": "JSAPI",
        "openid": openid,
        **extra,
    }


def unifiedorder(
    http: httpx.Client, merchant: dict[str, Any], sign_type: str = "MD5", **extra: str
) -> tuple[str, str, dict[str, str]]:
    openid = login(http, merchant)
    out_trade_no = extra.pop("out_trade_no", None) or new_no("V")
    response = v2_post(
        http, "/pay/unifiedorder", merchant, order_params(openid, out_trade_no, **extra), sign_type
    )
    assert response.status_code == 200
    return out_trade_no, openid, parse_v2(response.content)


@pytest.mark.parametrize("sign_type", ["MD5", "HMAC-SHA256"])
def test_unifiedorder_answers_a_prepay_id_signed_with_the_requests_sign_type(
    http: httpx.Client, merchant: dict[str, Any], sign_type: str
) -> None:
    _, _, answer = unifiedorder(http, merchant, sign_type)
    assert answer["return_code"] == "SUCCESS"
    assert answer["result_code"] == "SUCCESS"
    assert answer["prepay_id"].startswith("wx")
    assert answer["trade_type"] == "JSAPI"
    assert v2_verify(answer, merchant["api_v2_key"], sign_type)


def test_xml_without_a_content_type_is_accepted(
    http: httpx.Client, merchant: dict[str, Any]
) -> None:
    openid = login(http, merchant)
    fields = {
        "appid": merchant["appid"],
        "mch_id": merchant["mchid"],
        **order_params(openid, new_no()),
    }
    request = http.build_request(
        "POST", "/pay/unifiedorder", content=v2_body(fields, merchant["api_v2_key"])
    )
    assert "content-type" not in request.headers
    assert parse_v2(http.send(request).content)["result_code"] == "SUCCESS"


@pytest.mark.parametrize(
    ("body", "return_msg"),
    [
        (b"", "post数据为空"),
        (b"<xml><appid>", "XML格式错误"),
        (b"\xff\xfe<xml/>", "编码格式错误"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<xml><mch_id>&e;</mch_id></xml>",
            "XML格式错误",
        ),
        (
            b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b"<xml><body>&b;</body></xml>",
            "XML格式错误",
        ),
        (b"<xml><mch_id>1</mch_id></xml>", "mch_id参数错误，商户号不存在"),
        (b"<json/>", "XML格式错误"),
    ],
    ids=["empty", "broken", "not-utf8", "xxe", "billion-laughs", "unknown-merchant", "root"],
)
def test_protocol_failures_are_return_code_fail_and_the_emulator_keeps_serving(
    http: httpx.Client, merchant: dict[str, Any], body: bytes, return_msg: str
) -> None:
    response = http.post("/pay/unifiedorder", content=body)
    assert response.status_code == 200
    assert parse_v2(response.content) == {"return_code": "FAIL", "return_msg": return_msg}
    assert unifiedorder(http, merchant)[2]["result_code"] == "SUCCESS"


def test_get_and_bad_signatures_are_protocol_failures(
    http: httpx.Client, merchant: dict[str, Any]
) -> None:
    assert parse_v2(http.get("/pay/orderquery").content)["return_msg"] == "请使用post方法"
    forged = {**merchant, "api_v2_key": "x" * 32}
    response = v2_post(http, "/pay/orderquery", forged, {"out_trade_no": "ABCDEF1"})
    assert parse_v2(response.content) == {"return_code": "FAIL", "return_msg": "签名错误"}


def test_business_errors_are_signed_result_code_fail(
    http: httpx.Client, merchant: dict[str, Any]
) -> None:
    openid = login(http, merchant)
    params = order_params(openid, new_no())
    del params["body"]
    answer = parse_v2(v2_post(http, "/pay/unifiedorder", merchant, params).content)
    assert answer["return_code"] == "SUCCESS"
    assert answer["result_code"] == "FAIL"
    assert answer["err_code"] == "LACK_PARAMS"
    assert v2_verify(answer, merchant["api_v2_key"])
    wrong_appid = {**merchant, "appid": "wx1111111111111111"}
    mismatch = parse_v2(
        v2_post(http, "/pay/orderquery", wrong_appid, {"out_trade_no": "X1234567"}).content
    )
    assert mismatch["err_code"] == "APPID_MCHID_NOT_MATCH"
    soon = datetime.fromisoformat(advance(http, 0)["now"]) + timedelta(minutes=1)
    params = order_params(openid, new_no(), time_expire=soon.strftime("%Y%m%d%H%M%S"))
    short = parse_v2(v2_post(http, "/pay/unifiedorder", merchant, params).content)
    assert short["err_code"] == "INVALID_REQUEST"


def test_reordering_follows_the_v2_rules(http: httpx.Client, merchant: dict[str, Any]) -> None:
    out_trade_no, openid, first = unifiedorder(http, merchant)
    same = parse_v2(
        v2_post(http, "/pay/unifiedorder", merchant, order_params(openid, out_trade_no)).content
    )
    assert same["prepay_id"] == first["prepay_id"]
    changed = parse_v2(
        v2_post(
            http, "/pay/unifiedorder", merchant, order_params(openid, out_trade_no, total_fee="99")
        ).content
    )
    assert (changed["err_code"], changed["err_code_des"]) == (
        "INVALID_REQUEST",
        "201 商户订单号重复",
    )
    assert request_payment(http, v2_pay_params(merchant, first["prepay_id"], openid)) == (
        "requestPayment:ok"
    )
    paid = parse_v2(
        v2_post(http, "/pay/unifiedorder", merchant, order_params(openid, out_trade_no)).content
    )
    assert paid["err_code"] == "ORDERPAID"


def test_orderquery_shows_notpay_then_success(http: httpx.Client, merchant: dict[str, Any]) -> None:
    out_trade_no, openid, order = unifiedorder(http, merchant, "HMAC-SHA256")
    unpaid = parse_v2(
        v2_post(http, "/pay/orderquery", merchant, {"out_trade_no": out_trade_no}).content
    )
    assert (unpaid["trade_state"], unpaid["total_fee"]) == ("NOTPAY", "88")
    md5_pay = v2_pay_params(merchant, order["prepay_id"], openid, "MD5")
    assert request_payment(http, md5_pay) == "requestPayment:fail 支付验证签名失败"
    hmac_pay = v2_pay_params(merchant, order["prepay_id"], openid, "HMAC-SHA256")
    assert request_payment(http, hmac_pay) == "requestPayment:ok"
    paid = parse_v2(
        v2_post(http, "/pay/orderquery", merchant, {"out_trade_no": out_trade_no}).content
    )
    assert paid["trade_state"] == "SUCCESS"
    assert paid["transaction_id"].startswith("42000")
    assert paid["openid"] == openid
    assert len(paid["time_end"]) == 14
    by_id = parse_v2(
        v2_post(
            http, "/pay/orderquery", merchant, {"transaction_id": paid["transaction_id"]}
        ).content
    )
    assert by_id["out_trade_no"] == out_trade_no
    missing = parse_v2(
        v2_post(http, "/pay/orderquery", merchant, {"out_trade_no": "NOPE12345"}).content
    )
    assert missing["err_code"] == "ORDERNOTEXIST"


def test_closeorder_waits_five_minutes_then_closes_once(
    http: httpx.Client, merchant: dict[str, Any]
) -> None:
    out_trade_no, _, _ = unifiedorder(http, merchant)
    early = parse_v2(
        v2_post(http, "/pay/closeorder", merchant, {"out_trade_no": out_trade_no}).content
    )
    assert (early["result_code"], early["err_code"]) == ("FAIL", "INVALID_REQUEST")
    advance(http, 300)
    closed = parse_v2(
        v2_post(http, "/pay/closeorder", merchant, {"out_trade_no": out_trade_no}).content
    )
    assert closed["result_code"] == "SUCCESS"
    again = parse_v2(
        v2_post(http, "/pay/closeorder", merchant, {"out_trade_no": out_trade_no}).content
    )
    assert again["err_code"] == "ORDERCLOSED"
    unknown = parse_v2(
        v2_post(http, "/pay/closeorder", merchant, {"out_trade_no": "NOPE12345"}).content
    )
    assert unknown["err_code"] == "ORDERNOTEXIST"


def paid_v2_order(http: httpx.Client, merchant: dict[str, Any]) -> str:
    out_trade_no, openid, order = unifiedorder(http, merchant)
    assert request_payment(http, v2_pay_params(merchant, order["prepay_id"], openid)) == (
        "requestPayment:ok"
    )
    return out_trade_no


def test_refund_and_refundquery(http: httpx.Client, merchant: dict[str, Any]) -> None:
    out_trade_no = paid_v2_order(http, merchant)
    params = {
        "out_trade_no": out_trade_no,
        "out_refund_no": new_no("VR"),
        "total_fee": "88",
        "refund_fee": "8",
    }
    answer = parse_v2(v2_post(http, "/secapi/pay/refund", merchant, params).content)
    assert answer["result_code"] == "SUCCESS"
    assert answer["refund_id"].startswith("50")
    assert (answer["refund_fee"], answer["total_fee"]) == ("8", "88")
    assert v2_verify(answer, merchant["api_v2_key"])
    too_much = {**params, "out_refund_no": new_no("VR"), "refund_fee": "81"}
    refused = parse_v2(v2_post(http, "/secapi/pay/refund", merchant, too_much).content)
    assert (refused["err_code"], refused["err_code_des"]) == ("ERROR", "累计退款金额大于支付金额")
    query = parse_v2(
        v2_post(http, "/pay/refundquery", merchant, {"out_trade_no": out_trade_no}).content
    )
    assert query["refund_count"] == "1"
    assert query["refund_status_0"] == "PROCESSING"
    advance(http, 3)
    by_no = parse_v2(
        v2_post(
            http, "/pay/refundquery", merchant, {"out_refund_no": params["out_refund_no"]}
        ).content
    )
    assert by_no["refund_status_0"] == "SUCCESS"
    assert "refund_success_time_0" in by_no
    by_id = parse_v2(
        v2_post(http, "/pay/refundquery", merchant, {"refund_id": answer["refund_id"]}).content
    )
    assert by_id["out_refund_no_0"] == params["out_refund_no"]
    missing = parse_v2(
        v2_post(http, "/pay/refundquery", merchant, {"out_refund_no": "NOPE"}).content
    )
    assert missing["err_code"] == "REFUNDNOTEXIST"


def test_downloadbill_returns_the_file_or_wechat_failures(http: httpx.Client) -> None:
    merchant = http.post("/sandbox/merchants").json()
    paid_v2_order(http, merchant)
    day = datetime.fromisoformat(advance(http, 0)["now"]).date()
    compact = day.strftime("%Y%m%d")
    creating = parse_v2(
        v2_post(http, "/pay/downloadbill", merchant, {"bill_date": compact}).content
    )
    assert creating == {"return_code": "FAIL", "return_msg": "Bill Creating", "error_code": "20003"}
    advance(http, 86400)
    plain = v2_post(http, "/pay/downloadbill", merchant, {"bill_date": compact, "bill_type": "ALL"})
    assert plain.content.decode().startswith("交易时间,公众账号ID")
    assert "\r\n`" in plain.content.decode()
    zipped = v2_post(
        http, "/pay/downloadbill", merchant, {"bill_date": compact, "tar_type": "GZIP"}
    )
    assert gzip.decompress(zipped.content) == plain.content
    assert hashlib.sha1(plain.content).hexdigest()
    yesterday = (day - timedelta(days=1)).strftime("%Y%m%d")
    none = parse_v2(v2_post(http, "/pay/downloadbill", merchant, {"bill_date": yesterday}).content)
    assert none == {"return_code": "FAIL", "return_msg": "No Bill Exist", "error_code": "20002"}
    bad = parse_v2(
        v2_post(
            http, "/pay/downloadbill", merchant, {"bill_date": compact, "bill_type": "X"}
        ).content
    )
    assert bad["return_msg"] == "invalid bill_type"
    forged = {**merchant, "api_v2_key": "y" * 32}
    unsigned = parse_v2(v2_post(http, "/pay/downloadbill", forged, {"bill_date": compact}).content)
    assert unsigned["return_msg"] == "SIGN ERROR"
