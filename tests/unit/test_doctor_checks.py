"""The doctor's checks that need no network: each broken value fails naming its variable."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mppay.doctor.clock import Answer, check_clock
from mppay.doctor.local import (
    check_api_v2_key,
    check_api_v3_key,
    check_merchant_certificate,
    check_notify_url,
    check_settings,
    check_wechatpay_public_key,
)
from mppay.settings import Settings

WECHAT = "https://api.mch.weixin.qq.com"
SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _certificate(key: rsa.RSAPrivateKey, serial: str, *, days: int = 365) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "1900000109")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int(serial, 16))
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def settings(**values: Any) -> Settings:
    base: dict[str, Any] = {
        "appid": "wxd678efh567hg6787",
        "app_secret": secrets.token_hex(16),
        "mchid": "1900000109",
        "merchant_serial_no": SERIAL,
        "api_v3_key": secrets.token_hex(16),
        "notify_base_url": "https://pay.example.com",
        "admin_token": secrets.token_hex(32),
    }
    base.update(values)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("notify", "reason"),
    [
        ("http://pay.example.com", "not https://"),
        ("https://localhost:8000", "local name"),
        ("https://shop.localhost", "local name"),
        ("https://127.0.0.1", "loopback, private"),
        ("https://10.1.2.3", "loopback, private"),
        ("https://192.168.1.20", "loopback, private"),
        ("https://169.254.169.254", "loopback, private"),
        ("https://[::1]", "loopback, private"),
        ("https://payserver", "not a fully qualified"),
        ("https://pay.example.com/?x=1", "query string"),
    ],
)
def test_notify_url_must_be_public_https_for_wechat(notify: str, reason: str) -> None:
    result = check_notify_url(notify, WECHAT)
    assert result.status == "fail"
    assert reason in result.detail
    assert result.fix is not None
    assert "MPPAY_NOTIFY_BASE_URL" in result.fix


def test_public_https_notify_url_passes_and_an_emulator_takes_loopback_http() -> None:
    assert check_notify_url("https://pay.example.com", WECHAT).status == "pass"
    assert check_notify_url("https://203.0.113.9", "https://api2.mch.weixin.qq.com").ok is False
    emulator = check_notify_url("http://127.0.0.1:8000", "http://127.0.0.1:8090")
    assert emulator.status == "pass"
    assert "emulator" in emulator.detail


def test_settings_failure_names_the_variable() -> None:
    result = check_settings(settings(appid=None))
    assert result.status == "fail"
    assert "MPPAY_APPID" in result.detail


def test_merchant_certificate_must_match_the_key_and_the_serial(key: rsa.RSAPrivateKey) -> None:
    good = settings(merchant_private_key=_pem(key), merchant_certificate=_certificate(key, SERIAL))
    assert check_merchant_certificate(good).status == "pass"

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    mismatched = settings(
        merchant_private_key=_pem(key), merchant_certificate=_certificate(other, SERIAL)
    )
    result = check_merchant_certificate(mismatched)
    assert result.status == "fail"
    assert "does not match MPPAY_MERCHANT_PRIVATE_KEY" in result.detail

    wrong_serial = settings(
        merchant_private_key=_pem(key), merchant_certificate=_certificate(key, "ABCDEF0123")
    )
    result = check_merchant_certificate(wrong_serial)
    assert result.status == "fail"
    assert (
        result.fix
        == "set MPPAY_MERCHANT_SERIAL_NO=ABCDEF0123 (the serial WeChat knows this key by)"
    )


def test_expired_merchant_certificate_fails(key: rsa.RSAPrivateKey) -> None:
    current = settings(
        merchant_private_key=_pem(key), merchant_certificate=_certificate(key, SERIAL)
    )
    later = datetime.now(UTC) + timedelta(days=400)
    result = check_merchant_certificate(current, now=later)
    assert result.status == "fail"
    assert "expired" in result.detail


def test_api_keys_must_be_32_long() -> None:
    short_v3 = check_api_v3_key(settings(api_v3_key="x" * 31))
    assert short_v3.status == "fail"
    assert "31 bytes" in short_v3.detail
    assert check_api_v2_key(settings(api_v2_key="k" * 30)).status == "fail"
    assert check_api_v2_key(settings(api_v2_key=secrets.token_hex(16))).status == "pass"
    assert check_api_v2_key(settings()).status == "skip"


def test_public_key_id_needs_its_shape(key: rsa.RSAPrivateKey) -> None:
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    good = settings(
        wechatpay_public_key=public_pem, wechatpay_public_key_id="PUB_KEY_ID_0114232134912410"
    )
    assert check_wechatpay_public_key(good).status == "pass"
    bad = settings(wechatpay_public_key=public_pem, wechatpay_public_key_id="5157F09EFDC096DE")
    result = check_wechatpay_public_key(bad)
    assert result.status == "fail"
    assert "PUB_KEY_ID_ followed by digits" in result.detail
    assert check_wechatpay_public_key(settings()).status == "skip"  # certificate mode


def _answer(headers: dict[str, str], received_at: float) -> Answer:
    request = httpx.Request("GET", f"{WECHAT}/v3/pay/transactions/out-trade-no/x")
    return Answer(httpx.Response(404, headers=headers, request=request), received_at)


def test_clock_prefers_wechatpay_timestamp_and_allows_the_limit() -> None:
    now = 1_700_000_000.0
    dated = {"Date": "Tue, 14 Nov 2023 22:13:20 GMT"}  # == now
    assert check_clock(_answer({**dated, "Wechatpay-Timestamp": str(int(now))}, now), 5).ok
    ahead = check_clock(_answer({**dated, "Wechatpay-Timestamp": str(int(now) - 60)}, now), 5)
    assert ahead.status == "fail"
    assert "60 s ahead of WeChat Pay (Wechatpay-Timestamp)" in ahead.detail
    assert check_clock(_answer(dated, now + 9), 5).status == "fail"
    assert check_clock(_answer(dated, now + 3), 5).ok
    assert check_clock(None, 5).status == "fail"
