"""Notifications over real HTTP: signing, encryption, acknowledgement and the retry schedule."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from itertools import accumulate
from typing import Any

import httpx
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .flows import (
    advance,
    attempts,
    login,
    new_no,
    pay_v3,
    prepay,
    request_payment,
    v2_pay_params,
    v2_post,
)
from .harness import (
    SLOW,
    NotifyReceiver,
    V3Signer,
    certificate_public_key_pem,
    parse_v2,
    v2_verify,
    verify_signed,
)

SCHEDULE = [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600]
Receiver = tuple[NotifyReceiver, str]


def decrypt(body: bytes, api_v3_key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    envelope = json.loads(body)
    resource = envelope["resource"]
    plaintext = AESGCM(api_v3_key.encode()).decrypt(
        resource["nonce"].encode(),
        base64.b64decode(resource["ciphertext"]),
        resource["associated_data"].encode(),
    )
    return envelope, json.loads(plaintext)


def refund(v3: httpx.Client, out_trade_no: str, amount: int, notify_url: str) -> str:
    out_refund_no = new_no("R")
    response = v3.post(
        "/v3/refund/domestic/refunds",
        json={
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "notify_url": notify_url,
            "amount": {"refund": amount, "total": 100, "currency": "CNY"},
        },
    )
    assert response.status_code == 200, response.text
    return out_refund_no


def test_a_payment_is_announced_once_signed_with_the_public_key_and_encrypted(
    v3: httpx.Client, merchant: dict[str, Any], receiver: Receiver
) -> None:
    notify, base = receiver
    out_trade_no, openid = pay_v3(v3, merchant, f"{base}/v3/paid-once")
    advance(v3, 0)
    [received] = notify.of("/v3/paid-once")
    assert received.headers["wechatpay-serial"] == merchant["wechatpay_public_key_id"]
    assert received.headers["wechatpay-signature-type"] == "WECHATPAY2-SHA256-RSA2048"
    assert received.headers["content-type"] == "application/json"
    assert verify_signed(received, merchant["wechatpay_public_key_pem"], received.body)
    envelope, transaction = decrypt(received.body, merchant["api_v3_key"])
    uuid.UUID(envelope["id"])
    assert envelope["event_type"] == "TRANSACTION.SUCCESS"
    assert envelope["resource_type"] == "encrypt-resource"
    assert envelope["summary"] == "支付成功"
    assert envelope["resource"]["original_type"] == "transaction"
    assert envelope["resource"]["associated_data"] == "transaction"
    assert transaction["out_trade_no"] == out_trade_no
    assert transaction["trade_state"] == "SUCCESS"
    assert transaction["payer"] == {"openid": openid}
    [attempt] = attempts(v3, out_trade_no=out_trade_no)
    assert attempt["event_type"] == "TRANSACTION.SUCCESS"
    assert attempt["url"] == f"{base}/v3/paid-once"
    assert (attempt["attempt"], attempt["status_code"], attempt["outcome"]) == (1, 200, "success")
    advance(v3, 3600)
    assert len(notify.of("/v3/paid-once")) == 1


def test_a_certificate_merchant_is_notified_under_its_platform_certificate(
    http: httpx.Client, receiver: Receiver
) -> None:
    notify, base = receiver
    merchant = http.post("/sandbox/merchants", json={"key_mode": "certificate"}).json()
    http.auth = V3Signer(merchant)
    pay_v3(http, merchant, f"{base}/v3/platform-signed")
    advance(http, 0)
    [received] = notify.of("/v3/platform-signed")
    assert received.headers["wechatpay-serial"] == merchant["platform_serial_no"]
    public = certificate_public_key_pem(merchant["platform_certificate_pem"])
    assert verify_signed(received, public, received.body)


def test_an_unacknowledged_notification_follows_the_retry_schedule_then_stops(
    v3: httpx.Client, merchant: dict[str, Any], receiver: Receiver
) -> None:
    notify, base = receiver
    notify.script("/v3/retry-steps", [500])
    out_trade_no, _ = pay_v3(v3, merchant, f"{base}/v3/retry-steps")
    advance(v3, 0)
    for step, interval in enumerate(SCHEDULE, start=1):
        assert len(attempts(v3, out_trade_no=out_trade_no)) == step
        advance(v3, interval)
    made = attempts(v3, out_trade_no=out_trade_no)
    assert [a["attempt"] for a in made] == list(range(1, 17))
    assert {a["outcome"] for a in made} == {"failure"}
    start = made[0]["scheduled_unix"]
    assert [a["scheduled_unix"] - start for a in made] == [0, *accumulate(SCHEDULE)]
    assert [a["time_unix"] - start for a in made] == [0, *accumulate(SCHEDULE)]
    outbox = [
        e
        for e in v3.get("/sandbox/notifications").json()["outbox"]
        if e["out_trade_no"] == out_trade_no
    ]
    assert outbox[0]["state"] == "gave_up"
    advance(v3, 86400)
    assert len(attempts(v3, out_trade_no=out_trade_no)) == 16
    assert len(notify.of("/v3/retry-steps")) == 16


def test_a_clock_jump_replays_every_missed_attempt_in_schedule_order(
    v3: httpx.Client, merchant: dict[str, Any], receiver: Receiver
) -> None:
    notify, base = receiver
    notify.script("/v3/retry-jump", [503])
    out_trade_no, _ = pay_v3(v3, merchant, f"{base}/v3/retry-jump")
    advance(v3, 25 * 3600)
    made = attempts(v3, out_trade_no=out_trade_no)
    start = made[0]["scheduled_unix"]
    assert [a["scheduled_unix"] - start for a in made] == [0, *accumulate(SCHEDULE)]
    assert sum(SCHEDULE) == 24 * 3600 + 4 * 60


def test_a_later_acknowledgement_stops_the_retries(
    v3: httpx.Client, merchant: dict[str, Any], receiver: Receiver
) -> None:
    notify, base = receiver
    notify.script("/v3/second-time", [500, 204])
    out_trade_no, _ = pay_v3(v3, merchant, f"{base}/v3/second-time")
    advance(v3, 0)
    advance(v3, 15)
    advance(v3, 3600)
    made = attempts(v3, out_trade_no=out_trade_no)
    assert [(a["status_code"], a["outcome"]) for a in made] == [(500, "failure"), (204, "success")]
    assert made[0]["response_body"] == '{"code":"FAIL","message":"失败"}'


def test_an_answer_slower_than_the_ack_timeout_is_a_failure(
    v3: httpx.Client, merchant: dict[str, Any], receiver: Receiver
) -> None:
    notify, base = receiver
    notify.script("/v3/slow", [SLOW, 200])
    out_trade_no, _ = pay_v3(v3, merchant, f"{base}/v3/slow")
    advance(v3, 0)
    advance(v3, 15)
    made = attempts(v3, out_trade_no=out_trade_no)
    assert made[0]["outcome"] == "failure"
    assert made[0]["error"].startswith("timeout")
    assert made[1]["outcome"] == "success"


def test_refund_notifications_use_aad_refund_and_report_each_outcome(
    v3: httpx.Client, merchant: dict[str, Any], receiver: Receiver
) -> None:
    notify, base = receiver
    out_trade_no, _ = pay_v3(v3, merchant)
    url = f"{base}/v3/refunds"
    succeeded = refund(v3, out_trade_no, 10, url)
    closed = refund(v3, out_trade_no, 20, url)
    abnormal = refund(v3, out_trade_no, 30, url)
    assert (
        v3.post(f"/sandbox/refunds/{closed}/complete", json={"status": "CLOSED"}).status_code == 200
    )
    assert (
        v3.post(f"/sandbox/refunds/{abnormal}/complete", json={"status": "ABNORMAL"}).status_code
        == 200
    )
    advance(v3, 3)  # the untouched refund succeeds after the default delay
    assert (
        v3.post(f"/sandbox/refunds/{abnormal}/complete", json={"status": "SUCCESS"}).status_code
        == 200
    )
    final = v3.post(f"/sandbox/refunds/{closed}/complete", json={"status": "SUCCESS"})
    assert final.status_code == 409
    advance(v3, 0)
    events = []
    for received in notify.of("/v3/refunds"):
        envelope, resource = decrypt(received.body, merchant["api_v3_key"])
        assert envelope["resource"]["associated_data"] == "refund"
        assert envelope["resource"]["original_type"] == "refund"
        events.append(
            (envelope["event_type"], resource["out_refund_no"], resource["refund_status"])
        )
    assert sorted(events) == sorted(
        [
            ("REFUND.CLOSED", closed, "CLOSED"),
            ("REFUND.ABNORMAL", abnormal, "ABNORMAL"),
            ("REFUND.SUCCESS", succeeded, "SUCCESS"),
            ("REFUND.SUCCESS", abnormal, "SUCCESS"),
        ]
    )
    # CLOSED gives the money back: 100 - 10 - 30 is still refundable.
    assert v3.get(f"/v3/refund/domestic/refunds/{closed}").json()["status"] == "CLOSED"


def test_sandbox_send_delivers_one_correctly_signed_notification_with_overridden_fields(
    v3: httpx.Client, merchant: dict[str, Any], receiver: Receiver
) -> None:
    notify, base = receiver
    out_trade_no, _ = pay_v3(v3, merchant)
    response = v3.post(
        "/sandbox/notifications/send",
        json={
            "mchid": merchant["mchid"],
            "out_trade_no": out_trade_no,
            "event_type": "TRANSACTION.SUCCESS",
            "resource_overrides": {"amount": {"total": 1}},
            "url": f"{base}/v3/forged-amount",
        },
    )
    assert response.status_code == 200
    assert response.json()["kind"] == "manual"
    [received] = notify.of("/v3/forged-amount")
    assert verify_signed(received, merchant["wechatpay_public_key_pem"], received.body)
    _, resource = decrypt(received.body, merchant["api_v3_key"])
    assert resource["amount"] == {
        "total": 1,
        "payer_total": 100,
        "currency": "CNY",
        "payer_currency": "CNY",
    }
    assert resource["out_trade_no"] == out_trade_no
    bad = {"mchid": merchant["mchid"], "event_type": "REFUND.SUCCESS", "out_trade_no": out_trade_no}
    assert v3.post("/sandbox/notifications/send", json=bad).status_code == 400
    unknown = {"mchid": "1", "event_type": "TRANSACTION.SUCCESS", "out_trade_no": out_trade_no}
    assert v3.post("/sandbox/notifications/send", json=unknown).status_code == 404


def test_sandbox_send_of_a_success_for_an_unpaid_order_is_a_complete_paid_transaction(
    v3: httpx.Client, merchant: dict[str, Any], receiver: Receiver
) -> None:
    notify, base = receiver
    openid = login(v3, merchant)
    out_trade_no, _ = prepay(v3, merchant, openid)
    sent = v3.post(
        "/sandbox/notifications/send",
        json={
            "mchid": merchant["mchid"],
            "out_trade_no": out_trade_no,
            "event_type": "TRANSACTION.SUCCESS",
            "url": f"{base}/v3/unpaid",
        },
    )
    assert sent.status_code == 200, sent.text
    [received] = notify.of("/v3/unpaid")
    _, resource = decrypt(received.body, merchant["api_v3_key"])
    assert resource["trade_state"] == "SUCCESS"
    assert resource["transaction_id"].startswith("4200")
    assert resource["success_time"].startswith("20")
    assert resource["payer"] == {"openid": openid}
    assert resource["amount"]["total"] == resource["amount"]["payer_total"] == 100
    # The order itself is untouched: WeChat's query still says it is not paid.
    query = v3.get(
        f"/v3/pay/transactions/out-trade-no/{out_trade_no}", params={"mchid": merchant["mchid"]}
    )
    assert query.json()["trade_state"] == "NOTPAY"


def test_sandbox_send_of_a_v2_success_for_an_unpaid_order_has_a_transaction_and_time_end(
    http: httpx.Client, merchant: dict[str, Any], receiver: Receiver
) -> None:
    notify, base = receiver
    openid = login(http, merchant)
    out_trade_no = new_no("V")
    params = {
        "body": "v2未支付",
        "out_trade_no": out_trade_no,
        "total_fee": "88",
        "spbill_create_ip": "127.0.0.1",
        "notify_url": f"{base}/v2/unpaid",
        "trade_type": "JSAPI",
        "openid": openid,
    }
    assert parse_v2(v2_post(http, "/pay/unifiedorder", merchant, params).content)["prepay_id"]
    sent = http.post(
        "/sandbox/notifications/send",
        json={
            "mchid": merchant["mchid"],
            "out_trade_no": out_trade_no,
            "event_type": "TRANSACTION.SUCCESS",
        },
    )
    assert sent.status_code == 200, sent.text
    [received] = notify.of("/v2/unpaid")
    fields = parse_v2(received.body)
    assert v2_verify(fields, merchant["api_v2_key"])
    assert fields["transaction_id"].startswith("4200")
    assert fields["time_end"] != "19700101080000"
    assert fields["time_end"].startswith("20")
    assert fields["openid"] == openid
    assert fields["total_fee"] == fields["cash_fee"] == "88"


def _v2_order(http: httpx.Client, merchant: dict[str, Any], notify_url: str, sign_type: str) -> str:
    openid = login(http, merchant)
    out_trade_no = new_no("V")
    params = {
        "body": "v2通知",
        "out_trade_no": out_trade_no,
        "total_fee": "88",
        "spbill_create_ip": "127.0.0.1",
        "notify_url": notify_url,
        "trade_type": "JSAPI",
        "openid": openid,
    }
    answer = parse_v2(v2_post(http, "/pay/unifiedorder", merchant, params, sign_type).content)
    pay = v2_pay_params(merchant, answer["prepay_id"], openid, sign_type)
    assert request_payment(http, pay) == "requestPayment:ok"
    return out_trade_no


def test_v2_payment_notifications_are_signed_xml_acknowledged_only_by_success_xml(
    http: httpx.Client, merchant: dict[str, Any], receiver: Receiver
) -> None:
    notify, base = receiver
    notify.script("/v2/pay", [299, 200])  # 299: HTTP 200 with a FAIL XML
    out_trade_no = _v2_order(http, merchant, f"{base}/v2/pay", "HMAC-SHA256")
    advance(http, 0)
    advance(http, 15)
    first, second = notify.of("/v2/pay")
    assert first.body == second.body
    assert b"<total_fee>88</total_fee>" in first.body
    fields = parse_v2(first.body)
    assert fields["out_trade_no"] == out_trade_no
    assert fields["result_code"] == "SUCCESS"
    assert fields["sign_type"] == "HMAC-SHA256"
    assert v2_verify(fields, merchant["api_v2_key"], "HMAC-SHA256")
    outcomes = [a["outcome"] for a in attempts(http, out_trade_no=out_trade_no)]
    assert outcomes == ["failure", "success"]


def test_v2_refund_notifications_carry_an_encrypted_req_info(
    http: httpx.Client, merchant: dict[str, Any], receiver: Receiver
) -> None:
    notify, base = receiver
    out_trade_no = _v2_order(http, merchant, "http://127.0.0.1:9/x", "MD5")
    params = {
        "out_trade_no": out_trade_no,
        "out_refund_no": new_no("VR"),
        "total_fee": "88",
        "refund_fee": "88",
        "notify_url": f"{base}/v2/refund",
    }
    assert (
        parse_v2(v2_post(http, "/secapi/pay/refund", merchant, params).content)["result_code"]
        == "SUCCESS"
    )
    advance(http, 3)
    [received] = notify.of("/v2/refund")
    outer = parse_v2(received.body)
    assert "sign" not in outer
    assert (outer["return_code"], outer["mch_id"], outer["appid"]) == (
        "SUCCESS",
        merchant["mchid"],
        merchant["appid"],
    )
    key = hashlib.md5(merchant["api_v2_key"].encode()).hexdigest().encode()
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()  # noqa: S305
    padded = decryptor.update(base64.b64decode(outer["req_info"])) + decryptor.finalize()
    inner = parse_v2(padded[: -padded[-1]], root="root")
    assert inner["out_refund_no"] == params["out_refund_no"]
    assert (inner["refund_status"], inner["refund_fee"]) == ("SUCCESS", "88")
    assert inner["refund_recv_accout"] == "支付用户零钱"
