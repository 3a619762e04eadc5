"""Plain helper functions for the common steps (order, pay, refund, advance the clock)."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx

from .harness import load_key, rsa_sign, v2_body, v2_sign


def new_no(prefix: str = "T") -> str:
    return prefix + secrets.token_hex(8)


def login(http: httpx.Client, merchant: dict[str, Any], openid: str | None = None) -> str:
    body: dict[str, Any] = {"appid": merchant["appid"]}
    if openid:
        body["openid"] = openid
    response = http.post("/sandbox/login", json=body, auth=None)
    assert response.status_code == 200, response.text
    return str(response.json()["openid"])


def jsapi_body(
    merchant: dict[str, Any], out_trade_no: str, openid: str, notify_url: str, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appid": merchant["appid"],
        "mchid": merchant["mchid"],
        "description": "测试商品",
        "out_trade_no": out_trade_no,
        "notify_url": notify_url,
        "amount": {"total": 100, "currency": "CNY"},
        "payer": {"openid": openid},
    }
    body.update(extra)
    return body


def prepay(
    v3: httpx.Client,
    merchant: dict[str, Any],
    openid: str,
    notify_url: str = "http://127.0.0.1:9/notify",
    out_trade_no: str | None = None,
    **extra: Any,
) -> tuple[str, str]:
    """(out_trade_no, prepay_id) of a fresh v3 order."""
    out_trade_no = out_trade_no or new_no()
    response = v3.post(
        "/v3/pay/transactions/jsapi",
        json=jsapi_body(merchant, out_trade_no, openid, notify_url, **extra),
    )
    assert response.status_code == 200, response.text
    return out_trade_no, str(response.json()["prepay_id"])


def v3_pay_params(merchant: dict[str, Any], prepay_id: str, openid: str) -> dict[str, Any]:
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    package = f"prepay_id={prepay_id}"
    message = f"{merchant['appid']}\n{timestamp}\n{nonce}\n{package}\n".encode()
    return {
        "appId": merchant["appid"],
        "timeStamp": timestamp,
        "nonceStr": nonce,
        "package": package,
        "signType": "RSA",
        "paySign": rsa_sign(load_key(merchant["merchant_private_key_pem"]), message),
        "openid": openid,
    }


def v2_pay_params(
    merchant: dict[str, Any], prepay_id: str, openid: str, sign_type: str = "MD5"
) -> dict[str, Any]:
    params = {
        "appId": merchant["appid"],
        "timeStamp": str(int(time.time())),
        "nonceStr": secrets.token_hex(16),
        "package": f"prepay_id={prepay_id}",
        "signType": sign_type,
    }
    params["paySign"] = v2_sign(params, merchant["api_v2_key"], sign_type)
    return {**params, "openid": openid}


def request_payment(http: httpx.Client, params: dict[str, Any], action: str = "confirm") -> str:
    response = http.post("/sandbox/requestPayment", json={**params, "action": action}, auth=None)
    assert response.status_code == 200, response.text
    return str(response.json()["errMsg"])


def pay_v3(
    v3: httpx.Client, merchant: dict[str, Any], notify_url: str = "http://127.0.0.1:9/n"
) -> tuple[str, str]:
    """A paid v3 order: (out_trade_no, openid)."""
    openid = login(v3, merchant)
    out_trade_no, prepay_id = prepay(v3, merchant, openid, notify_url)
    assert request_payment(v3, v3_pay_params(merchant, prepay_id, openid)) == "requestPayment:ok"
    return out_trade_no, openid


def advance(http: httpx.Client, seconds: float) -> dict[str, Any]:
    response = http.post("/sandbox/clock", json={"advance_seconds": seconds}, auth=None)
    assert response.status_code == 200, response.text
    return dict(response.json())


def v2_post(
    http: httpx.Client,
    path: str,
    merchant: dict[str, Any],
    params: dict[str, str],
    sign_type: str = "MD5",
) -> httpx.Response:
    fields = {"appid": merchant["appid"], "mch_id": merchant["mchid"], **params}
    return http.post(path, content=v2_body(fields, merchant["api_v2_key"], sign_type), auth=None)


def attempts(http: httpx.Client, **filters: str) -> list[dict[str, Any]]:
    response = http.get("/sandbox/notifications", params=filters, auth=None)
    assert response.status_code == 200
    return list(response.json()["data"])
