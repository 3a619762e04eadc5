"""Shipping information over loopback HTTP: tokens, uploads and their rules, states, pushes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mppay.wechatpay.miniprogram import MessagePushVerifier

from .flows import advance, attempts, pay_v3
from .harness import ServerThread, V3Signer

PUSH_TOKEN = "pushToken123"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class PushReceiver:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def of(self, mchid: str) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(q, b) for m, q, b in self.received if m == mchid]

    def app(self) -> Starlette:
        async def endpoint(request: Request) -> Response:
            with self.lock:
                mchid = request.path_params["mchid"]
                self.received.append((mchid, dict(request.query_params), await request.body()))
            return Response(b"success")

        return Starlette(routes=[Route("/push/{mchid}", endpoint, methods=["POST"])])


@pytest.fixture(scope="module")
def pushes() -> Iterator[tuple[PushReceiver, str]]:
    receiver = PushReceiver()
    with ServerThread(receiver.app()) as server:
        yield receiver, f"{server.url}/push"


@pytest.fixture
def shop(http: httpx.Client, pushes: tuple[PushReceiver, str]) -> Iterator[dict[str, Any]]:
    """A fresh merchant in safe push mode, with the default shipping settings."""
    merchant = http.post("/sandbox/merchants").json()
    config = {
        "push_url": f"{pushes[1]}/{merchant['mchid']}",
        "push_token": PUSH_TOKEN,
        "push_aes_key": AES_KEY,
    }
    answer = http.put(f"/sandbox/merchants/{merchant['mchid']}/shipping", json=config)
    assert answer.status_code == 200, answer.text
    assert answer.json()["push_mode"] == "safe"
    yield merchant
    http.put("/sandbox/shipping/settings", json={"visible_delay_seconds": 60})


def token(http: httpx.Client, merchant: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"grant_type": "client_credential", "appid": merchant["appid"]}
    body["secret"] = merchant["app_secret"]
    return dict(http.post("/cgi-bin/stable_token", json={**body, **extra}).json())


def call(http: httpx.Client, access_token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, params={"access_token": access_token}, json=body)
    assert response.status_code == 200
    return dict(response.json())


def paid(http: httpx.Client, merchant: dict[str, Any]) -> tuple[str, str]:
    """(transaction_id, openid) of a payment just made."""
    signer = httpx.Client(base_url=str(http.base_url), trust_env=False, auth=V3Signer(merchant))
    with signer:
        out_trade_no, openid = pay_v3(signer, merchant)
        answer = signer.get(
            f"/v3/pay/transactions/out-trade-no/{out_trade_no}", params={"mchid": merchant["mchid"]}
        )
    return str(answer.json()["transaction_id"]), openid


def upload_body(tid: str, openid: str, at: datetime, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_key": {"order_number_type": 2, "transaction_id": tid},
        "logistics_type": 1,
        "delivery_mode": 1,
        "shipping_list": [{"tracking_no": "YT1", "express_company": "YTO", "item_desc": "拿铁"}],
        "upload_time": at.isoformat(timespec="milliseconds"),
        "payer": {"openid": openid},
    }
    body.update(extra)
    return body


UPLOAD = "/wxa/sec/order/upload_shipping_info"
T = datetime(2026, 3, 1, tzinfo=UTC)


def test_stable_tokens_are_shared_voided_by_force_refresh_and_expire(
    http: httpx.Client, shop: dict[str, Any]
) -> None:
    first = token(http, shop)
    assert first["expires_in"] == 7200
    assert token(http, shop)["access_token"] == first["access_token"]
    managed = "/wxa/sec/order/is_trade_managed"
    assert call(http, first["access_token"], managed, {"appid": shop["appid"]})["is_trade_managed"]
    forced = token(http, shop, force_refresh=True)
    assert call(http, first["access_token"], managed, {})["errcode"] == 40001
    advance(http, 7200)
    assert call(http, forced["access_token"], managed, {})["errcode"] == 42001
    assert http.post(managed, json={}).json()["errcode"] == 41001
    wrong = token(http, shop, secret="0" * 32)
    assert wrong["errcode"] == 40125


def test_a_payment_is_invisible_for_a_minute_then_one_correction_is_allowed(
    http: httpx.Client, shop: dict[str, Any]
) -> None:
    tid, openid = paid(http, shop)
    access = token(http, shop)["access_token"]
    assert call(http, access, UPLOAD, upload_body(tid, openid, T))["errcode"] == 10060001
    advance(http, 61)
    assert call(http, access, UPLOAD, upload_body(tid, "oSomeoneElse", T))["errcode"] == 10060031
    assert call(http, access, UPLOAD, upload_body(tid, openid, T))["errcode"] == 0
    order = call(http, access, "/wxa/sec/order/get_order", {"transaction_id": tid})["order"]
    assert order["order_state"] == 2
    assert order["shipping"]["shipping_list"][0]["tracking_no"] == "YT1"
    same_time = call(http, access, UPLOAD, upload_body(tid, openid, T))
    assert same_time["errcode"] == 10060023
    later = T + timedelta(minutes=1)
    assert call(http, access, UPLOAD, upload_body(tid, openid, later))["errcode"] == 0
    third = call(http, access, UPLOAD, upload_body(tid, openid, later + timedelta(minutes=1)))
    assert third["errcode"] == 10060003


def test_split_delivery_completes_only_with_is_all_delivered(
    http: httpx.Client, shop: dict[str, Any]
) -> None:
    http.put("/sandbox/shipping/settings", json={"visible_delay_seconds": 0})
    tid, openid = paid(http, shop)
    access = token(http, shop)["access_token"]
    part = {"delivery_mode": 2, "is_all_delivered": False}
    assert call(http, access, UPLOAD, upload_body(tid, openid, T, **part))["errcode"] == 0
    order = call(http, access, "/wxa/sec/order/get_order", {"transaction_id": tid})["order"]
    assert order["order_state"] == 1
    assert (
        call(http, access, UPLOAD, upload_body(tid, openid, T, delivery_mode=2))["errcode"]
        == 10060007
    )
    many = [{"tracking_no": f"T{i}", "express_company": "ZTO", "item_desc": "x"} for i in range(15)]
    too_many = upload_body(tid, openid, T + timedelta(seconds=1), shipping_list=many, **part)
    assert call(http, access, UPLOAD, too_many)["errcode"] == 10060024
    rest = {"delivery_mode": 2, "is_all_delivered": True}
    last = upload_body(tid, openid, T + timedelta(seconds=2), **rest)
    last["shipping_list"][0]["tracking_no"] = "YT2"
    assert call(http, access, UPLOAD, last)["errcode"] == 0
    order = call(http, access, "/wxa/sec/order/get_order", {"transaction_id": tid})["order"]
    assert order["order_state"] == 2
    assert [p["tracking_no"] for p in order["shipping"]["shipping_list"]] == ["YT1", "YT2"]


def test_confirmation_settles_and_pushes_a_signed_encrypted_settlement(
    http: httpx.Client, shop: dict[str, Any], pushes: tuple[PushReceiver, str]
) -> None:
    http.put("/sandbox/shipping/settings", json={"visible_delay_seconds": 0})
    tid, openid = paid(http, shop)
    access = token(http, shop)["access_token"]
    assert http.post(f"/sandbox/shipping/{tid}/confirm").status_code == 409
    assert call(http, access, UPLOAD, upload_body(tid, openid, T))["errcode"] == 0
    confirmed = http.post(f"/sandbox/shipping/{tid}/confirm")
    assert confirmed.status_code == 200
    assert confirmed.json()["order_state"] == 4
    advance(http, 1)
    verifier = MessagePushVerifier(PUSH_TOKEN, encoding_aes_key=AES_KEY, appid=shop["appid"])
    receiver = pushes[0]
    mine = [verifier.open(q, b) for q, b in receiver.of(shop["mchid"])]
    events = [m.settlement() for m in mine if m.text("transaction_id") == tid]
    assert [e.settled for e in events] == [False, True]
    assert events[1].confirm_receive_method == 2
    logged = attempts(http, mchid=shop["mchid"], event_type="trade_manage_order_settlement")
    assert {a["outcome"] for a in logged} == {"success"}
    query, body = receiver.of(shop["mchid"])[-1]
    tampered = {**query, "msg_signature": "0" * 40}
    with pytest.raises(Exception, match="msg_signature"):
        verifier.open(tampered, body)


def test_an_unconfirmed_order_is_confirmed_automatically_after_the_window(
    http: httpx.Client, shop: dict[str, Any]
) -> None:
    http.put(
        "/sandbox/shipping/settings", json={"visible_delay_seconds": 0, "auto_confirm_days": 2}
    )
    tid, openid = paid(http, shop)
    access = token(http, shop)["access_token"]
    assert call(http, access, UPLOAD, upload_body(tid, openid, T))["errcode"] == 0
    advance(http, 2 * 86400 + 5)
    order = http.get(f"/sandbox/shipping/{tid}").json()
    assert order["order_state"] == 4
    http.put("/sandbox/shipping/settings", json={"auto_confirm_days": 10})


def test_an_unshipped_order_gets_reminders_and_upload_faults_come_from_sandbox_faults(
    http: httpx.Client, shop: dict[str, Any], pushes: tuple[PushReceiver, str]
) -> None:
    http.put("/sandbox/merchants/{}/shipping".format(shop["mchid"]), json={"push_mode": "plain"})
    tid, openid = paid(http, shop)
    advance(http, 3 * 86400 + 5)
    receiver = pushes[0]
    verifier = MessagePushVerifier(PUSH_TOKEN)
    plain = [json.loads(b) for q, b in receiver.of(shop["mchid"])]
    checked = [verifier.open(q, b) for q, b in receiver.of(shop["mchid"])]
    events = {(m["Event"], m.get("transaction_id", "")) for m in plain}
    assert ("trade_manage_remind_shipping", tid) in events
    assert ("trade_manage_remind_access_api", "") in events
    assert len(checked) == len(plain)
    faults = {"mchid": shop["mchid"], "api_system_error_rate": 1.0, "api_fault_paths": ["/wxa/"]}
    assert http.put("/sandbox/faults", json=faults).status_code == 200
    try:
        access = token(http, shop)["access_token"]
        assert call(http, access, UPLOAD, upload_body(tid, openid, T))["errcode"] == -1
    finally:
        http.delete("/sandbox/faults")
