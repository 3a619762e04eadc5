"""API v3 refunds, certificates and trade bills over loopback HTTP."""

from __future__ import annotations

import base64
import gzip
import hashlib
from datetime import datetime, timedelta
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .flows import advance, login, new_no, pay_v3, prepay
from .harness import V3Signer, certificate_public_key_pem, verify_signed

REFUNDS = "/v3/refund/domestic/refunds"


def refund(
    v3: httpx.Client,
    out_trade_no: str,
    amount: int,
    out_refund_no: str | None = None,
    total: int = 100,
) -> httpx.Response:
    return v3.post(
        REFUNDS,
        json={
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no or new_no("R"),
            "reason": "不想要了",
            "amount": {"refund": amount, "total": total, "currency": "CNY"},
        },
    )


def test_a_refund_is_processing_then_succeeds_after_the_delay_on_the_emulator_clock(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    out_trade_no, _ = pay_v3(v3, merchant)
    accepted = refund(v3, out_trade_no, 30, "R-delay-1")
    assert accepted.status_code == 200
    body = accepted.json()
    assert body["status"] == "PROCESSING"
    assert body["refund_id"].startswith("50")
    assert body["amount"]["refund"] == 30
    assert "success_time" not in body
    assert verify_signed(accepted, merchant["wechatpay_public_key_pem"], accepted.content)
    assert v3.get(f"{REFUNDS}/R-delay-1").json()["status"] == "PROCESSING"
    advance(v3, 3)
    done = v3.get(f"{REFUNDS}/R-delay-1").json()
    assert done["status"] == "SUCCESS"
    assert "success_time" in done
    order = v3.get(f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={merchant['mchid']}")
    assert order.json()["trade_state"] == "REFUND"


def test_the_same_out_refund_no_refunds_only_once(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    out_trade_no, _ = pay_v3(v3, merchant)
    first = refund(v3, out_trade_no, 40, "R-once-1").json()
    again = refund(v3, out_trade_no, 40, "R-once-1").json()
    assert again["refund_id"] == first["refund_id"]
    changed = refund(v3, out_trade_no, 41, "R-once-1")
    assert (changed.status_code, changed.json()["code"]) == (400, "INVALID_REQUEST")
    rest = refund(v3, out_trade_no, 61)
    assert (rest.status_code, rest.json()["code"]) == (400, "INVALID_REQUEST")
    assert refund(v3, out_trade_no, 60).status_code == 200
    full = refund(v3, out_trade_no, 1)
    assert full.json() == {"code": "INVALID_REQUEST", "message": "订单已全额退款"}


def test_refund_errors_have_wechat_codes(v3: httpx.Client, merchant: dict[str, Any]) -> None:
    missing = refund(v3, "NEVER_ORDERED_9", 1)
    assert (missing.status_code, missing.json()["code"]) == (404, "RESOURCE_NOT_EXISTS")
    unpaid_no, _ = prepay(v3, merchant, login(v3, merchant))
    unpaid = refund(v3, unpaid_no, 1)
    assert (unpaid.status_code, unpaid.json()["code"]) == (404, "RESOURCE_NOT_EXISTS")
    out_trade_no, _ = pay_v3(v3, merchant)
    mismatch = refund(v3, out_trade_no, 1, total=99)
    assert (mismatch.status_code, mismatch.json()["code"]) == (400, "INVALID_REQUEST")
    neither = v3.post(
        REFUNDS,
        json={"out_refund_no": "R1", "amount": {"refund": 1, "total": 100, "currency": "CNY"}},
    )
    assert (neither.status_code, neither.json()["code"]) == (400, "PARAM_ERROR")
    unknown = v3.get(f"{REFUNDS}/NO_SUCH_REFUND")
    assert unknown.status_code == 404
    assert unknown.json() == {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}


def test_an_order_takes_at_most_fifty_refunds(v3: httpx.Client, merchant: dict[str, Any]) -> None:
    out_trade_no, _ = pay_v3(v3, merchant)
    for n in range(50):
        assert refund(v3, out_trade_no, 1, f"R50-{out_trade_no}-{n}").status_code == 200
    over = refund(v3, out_trade_no, 1)
    assert (over.status_code, over.json()["code"]) == (400, "INVALID_REQUEST")


def test_a_public_key_merchant_has_no_platform_certificates(
    v3: httpx.Client, merchant: dict[str, Any]
) -> None:
    response = v3.get("/v3/certificates")
    assert response.status_code == 404
    assert response.json()["code"] == "RESOURCE_NOT_EXISTS"
    assert response.json()["message"].startswith("无可用的平台证书")


def test_a_certificate_merchant_downloads_its_encrypted_platform_certificate(
    http: httpx.Client,
) -> None:
    merchant = http.post("/sandbox/merchants", json={"key_mode": "certificate"}).json()
    response = http.get("/v3/certificates", auth=V3Signer(merchant))
    assert response.status_code == 200
    [entry] = response.json()["data"]
    assert entry["serial_no"] == merchant["platform_serial_no"]
    encrypted = entry["encrypt_certificate"]
    assert encrypted["associated_data"] == "certificate"
    pem = AESGCM(merchant["api_v3_key"].encode()).decrypt(
        encrypted["nonce"].encode(), base64.b64decode(encrypted["ciphertext"]), b"certificate"
    )
    certificate = x509.load_pem_x509_certificate(pem)
    assert f"{certificate.serial_number:X}" == merchant["platform_serial_no"]
    assert response.headers["wechatpay-serial"] == merchant["platform_serial_no"]
    assert verify_signed(response, certificate_public_key_pem(pem.decode()), response.content)
    # Naming the public key (migration) switches the answer to the public key.
    migrating = http.get(
        "/v3/certificates",
        auth=V3Signer(merchant, serial_header=merchant["wechatpay_public_key_id"]),
    )
    assert migrating.headers["wechatpay-serial"] == merchant["wechatpay_public_key_id"]
    assert verify_signed(migrating, merchant["wechatpay_public_key_pem"], migrating.content)


def _bill(v3: httpx.Client, day: str, **params: str) -> httpx.Response:
    return v3.get("/v3/bill/tradebill", params={"bill_date": day, **params})


def test_a_trade_bill_exists_once_the_day_ended_and_matches_its_sha1(
    http: httpx.Client,
) -> None:
    merchant = http.post("/sandbox/merchants").json()
    http.auth = V3Signer(merchant)
    out_trade_no, openid = pay_v3(http, merchant)
    refund(http, out_trade_no, 25, "R-bill-1")
    advance(http, 3)
    day = datetime.fromisoformat(advance(http, 0)["now"]).date().isoformat()
    today = _bill(http, day)
    assert (today.status_code, today.json()["code"]) == (400, "INVALID_REQUEST")
    advance(http, 86400)
    answer = _bill(http, day)
    assert answer.status_code == 200
    info = answer.json()
    assert info["hash_type"] == "SHA1"
    assert info["download_url"].startswith(
        str(http.base_url).rstrip("/") + "/v3/billdownload/file?token="
    )
    file = http.get(info["download_url"])
    assert file.status_code == 200
    assert "wechatpay-signature" not in file.headers
    assert hashlib.sha1(file.content).hexdigest() == info["hash_value"]
    lines = file.content.decode().split("\r\n")
    assert lines[0].startswith("交易时间,公众账号ID,商户号")
    assert lines[-1] == ""
    payment, refund_row = lines[1].split(","), lines[2].split(",")
    assert all(field.startswith("`") for field in payment + refund_row)
    assert [payment[6], payment[7], payment[9]] == [f"`{out_trade_no}", f"`{openid}", "`SUCCESS"]
    assert [refund_row[9], refund_row[15], refund_row[16]] == ["`REFUND", "`R-bill-1", "`0.25"]
    assert lines[3].startswith("总交易单数")
    assert lines[4].split(",")[:3] == ["`2", "`1.00", "`0.25"]
    gz = _bill(http, day, tar_type="GZIP").json()
    assert gzip.decompress(http.get(gz["download_url"]).content) == file.content
    only_refunds = http.get(_bill(http, day, bill_type="REFUND").json()["download_url"]).content
    assert only_refunds.decode().count("\r\n") == 4


def test_bill_errors_and_download_url_rules(http: httpx.Client) -> None:
    merchant = http.post("/sandbox/merchants").json()
    other = http.post("/sandbox/merchants").json()
    http.auth = V3Signer(merchant)
    pay_v3(http, merchant)
    day = datetime.fromisoformat(advance(http, 0)["now"]).date()
    advance(http, 86400)
    empty = _bill(http, (day - timedelta(days=1)).isoformat())
    assert (empty.status_code, empty.json()["code"]) == (400, "NO_STATEMENT_EXIST")
    bad_type = _bill(http, day.isoformat(), bill_type="NOPE")
    assert (bad_type.status_code, bad_type.json()["code"]) == (400, "PARAM_ERROR")
    bad_date = _bill(http, "2024/01/01")
    assert bad_date.json()["code"] == "PARAM_ERROR"
    too_old = _bill(http, "2001-01-01")
    assert too_old.json()["code"] == "INVALID_REQUEST"
    url = _bill(http, day.isoformat()).json()["download_url"]
    assert http.get(url, auth=V3Signer(other)).json()["code"] == "INVALID_REQUEST"
    assert http.get(url, auth=None).status_code == 401
    advance(http, 301)
    expired = http.get(url)
    assert (expired.status_code, expired.json()["code"]) == (400, "INVALID_REQUEST")
