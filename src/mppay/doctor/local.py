"""Checks that need no network: the settings, the keys and certificates, the notify URL.

Each function looks at one thing and returns one ``CheckResult``; none raises. Messages name
the variable to change and never contain key material.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from mppay.settings import Settings, SettingsError, read_pem_or_path
from mppay.wechatpay import PUBLIC_KEY_ID_PREFIX, certificate_serial, load_private_key
from mppay.wechatpay import load_public_key as load_wechatpay_public_key
from mppay.wechatpay.errors import ConfigurationError

from .result import CheckResult, failed, passed, skipped

__all__ = [
    "check_api_v2_key",
    "check_api_v3_key",
    "check_merchant_certificate",
    "check_merchant_key",
    "check_notify_url",
    "check_settings",
    "check_wechatpay_public_key",
    "is_wechat_pay",
]

_PUBLIC_KEY_ID = re.compile(re.escape(PUBLIC_KEY_ID_PREFIX) + r"[0-9]+")
_HEX_SERIAL = re.compile(r"[0-9A-Fa-f]{1,64}")
# Warn this long before the merchant API certificate expires (WeChat's are valid 5 years).
_EXPIRY_WARNING = timedelta(days=30)
_NOTIFY_URL_MAX = 256  # WeChat's limit on notify_url; the longest path we append is ~30


def is_wechat_pay(base_url: str) -> bool:
    """True for WeChat's own API hosts (api.mch.weixin.qq.com and its backup api2...)."""
    host = httpx.URL(base_url).host.lower()
    return host == "mch.weixin.qq.com" or host.endswith(".mch.weixin.qq.com")


def check_settings(settings: Settings) -> CheckResult:
    title = "settings pass real-mode validation"
    try:
        settings.check_real_mode()
    except SettingsError as exc:
        return failed(
            "settings",
            title,
            str(exc),
            "set it in the environment or in .env (see .env.example); `mppay serve` refuses "
            "to start until it is fixed",
        )
    return passed("settings", title, f"API {settings.api_version}, mchid {settings.mchid}")


def _private_key(settings: Settings) -> rsa.RSAPrivateKey:
    """The merchant key; raises ``SettingsError``/``ConfigurationError`` with a reason."""
    if not settings.merchant_private_key:
        raise SettingsError("MPPAY_MERCHANT_PRIVATE_KEY is not set")
    pem = read_pem_or_path(settings.merchant_private_key, "MPPAY_MERCHANT_PRIVATE_KEY")
    return load_private_key(pem)


def check_merchant_key(settings: Settings) -> CheckResult:
    name, title = "merchant-key", "merchant private key (MPPAY_MERCHANT_PRIVATE_KEY)"
    if not settings.merchant_private_key and settings.api_version == "v2":
        return skipped(name, title, "not set (API v2 signs with MPPAY_API_V2_KEY)")
    try:
        key = _private_key(settings)
    except (SettingsError, ConfigurationError) as exc:
        return failed(
            name,
            title,
            str(exc.message if isinstance(exc, ConfigurationError) else exc),
            "set MPPAY_MERCHANT_PRIVATE_KEY to apiclient_key.pem (PEM text or its path) from the "
            "merchant API certificate tool",
        )
    serial = settings.merchant_serial_no or ""
    if not _HEX_SERIAL.fullmatch(serial):
        return failed(
            name,
            title,
            "MPPAY_MERCHANT_SERIAL_NO is missing or not hexadecimal",
            "set MPPAY_MERCHANT_SERIAL_NO to the serial of the merchant API certificate "
            "(商户平台 > API安全 > 管理证书, or `openssl x509 -noout -serial -in apiclient_cert.pem`)",
        )
    return passed(name, title, f"RSA {key.key_size} bits, serial {serial.upper()}")


def check_merchant_certificate(settings: Settings, *, now: datetime | None = None) -> CheckResult:
    name, title = "merchant-certificate", "merchant API certificate (MPPAY_MERCHANT_CERTIFICATE)"
    if not settings.merchant_certificate:
        needed = settings.api_version == "v2"
        if needed:
            return failed(
                name,
                title,
                "not set: API v2 refunds need it as the TLS client certificate",
                "set MPPAY_MERCHANT_CERTIFICATE to apiclient_cert.pem (PEM text or its path)",
            )
        return skipped(name, title, "not set (only API v2 refunds need it)")
    fix = (
        "MPPAY_MERCHANT_CERTIFICATE, MPPAY_MERCHANT_PRIVATE_KEY and MPPAY_MERCHANT_SERIAL_NO must "
        "come from the same certificate application (apiclient_cert.pem, apiclient_key.pem)"
    )
    try:
        pem = read_pem_or_path(settings.merchant_certificate, "MPPAY_MERCHANT_CERTIFICATE")
        certificate = x509.load_pem_x509_certificate(pem.encode("ascii", "replace"))
    except (SettingsError, ValueError) as exc:
        return failed(name, title, f"not a PEM X.509 certificate ({exc})", fix)
    try:
        key = _private_key(settings)
    except (SettingsError, ConfigurationError):
        return failed(name, title, "cannot be checked: the private key does not load", fix)
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey) or (
        public.public_numbers() != key.public_key().public_numbers()
    ):
        return failed(name, title, "its public key does not match MPPAY_MERCHANT_PRIVATE_KEY", fix)
    serial = certificate_serial(certificate)
    configured = (settings.merchant_serial_no or "").upper().lstrip("0")
    if serial.lstrip("0") != configured:
        return failed(
            name,
            title,
            f"its serial is {serial}, but MPPAY_MERCHANT_SERIAL_NO is "
            f"{settings.merchant_serial_no!r}",
            f"set MPPAY_MERCHANT_SERIAL_NO={serial} (the serial WeChat knows this key by)",
        )
    moment = now or datetime.now(UTC)
    expires = certificate.not_valid_after_utc
    if expires <= moment:
        return failed(
            name,
            title,
            f"expired on {expires:%Y-%m-%d}",
            "apply for a new merchant API certificate and rotate it (README: Going live)",
        )
    soon = (
        " (renew it soon: README, rotating the merchant key)"
        if (expires - moment < _EXPIRY_WARNING)
        else ""
    )
    return passed(
        name, title, f"matches the key and serial {serial}; valid until {expires:%Y-%m-%d}{soon}"
    )


def check_api_v3_key(settings: Settings) -> CheckResult:
    name, title = "api-v3-key", "API v3 key (MPPAY_API_V3_KEY)"
    if settings.api_v3_key is None:
        if settings.api_version == "v2":
            return skipped(name, title, "not set (API v2 only)")
        return failed(
            name, title, "not set", "set MPPAY_API_V3_KEY to the APIv3 key (商户平台 > API安全)"
        )
    size = len(settings.api_v3_key.encode("utf-8"))
    if size != 32:
        return failed(
            name,
            title,
            f"{size} bytes; WeChat's APIv3 key is exactly 32",
            "copy the whole APIv3 key into MPPAY_API_V3_KEY (no quotes or spaces), or set a new "
            "one in 商户平台 > API安全 > 设置APIv3密钥",
        )
    return passed(name, title, "32 bytes")


def check_api_v2_key(settings: Settings) -> CheckResult:
    name, title = "api-v2-key", "API v2 key (MPPAY_API_V2_KEY)"
    if settings.api_v2_key is None:
        if settings.api_version == "v2":
            return failed(name, title, "not set", "set MPPAY_API_V2_KEY to the API key (API密钥)")
        return skipped(name, title, "not set (API v3 only)")
    if len(settings.api_v2_key) != 32:
        return failed(
            name,
            title,
            f"{len(settings.api_v2_key)} characters; WeChat's API key is exactly 32",
            "copy the whole API key (API密钥) into MPPAY_API_V2_KEY",
        )
    return passed(name, title, "32 characters")


def check_wechatpay_public_key(settings: Settings) -> CheckResult:
    """The WeChat Pay public key, when configured (public-key mode or the migration to it)."""
    name, title = "wechatpay-public-key", "WeChat Pay public key (MPPAY_WECHATPAY_PUBLIC_KEY)"
    if settings.api_version == "v2" and not settings.api_v3_key:
        return skipped(name, title, "not used by API v2")
    if settings.wechatpay_public_key is None and settings.wechatpay_public_key_id is None:
        return skipped(
            name, title, "not set: certificate mode (platform certificates are downloaded)"
        )
    fix = (
        "set MPPAY_WECHATPAY_PUBLIC_KEY (pub_key.pem, PEM text or its path) and "
        "MPPAY_WECHATPAY_PUBLIC_KEY_ID (PUB_KEY_ID_...) from 商户平台 > API安全 > 微信支付公钥"
    )
    if not settings.wechatpay_public_key or not settings.wechatpay_public_key_id:
        return failed(name, title, "the key and its id must be set together", fix)
    if not _PUBLIC_KEY_ID.fullmatch(settings.wechatpay_public_key_id):
        return failed(
            name,
            title,
            f"MPPAY_WECHATPAY_PUBLIC_KEY_ID {settings.wechatpay_public_key_id[:48]!r} is not "
            f"{PUBLIC_KEY_ID_PREFIX} followed by digits",
            fix,
        )
    try:
        pem = read_pem_or_path(settings.wechatpay_public_key, "MPPAY_WECHATPAY_PUBLIC_KEY")
        key = load_wechatpay_public_key(pem)
    except SettingsError as exc:
        return failed(name, title, str(exc), fix)
    except ConfigurationError as exc:
        return failed(name, title, exc.message, fix)
    return passed(name, title, f"RSA {key.key_size} bits, id {settings.wechatpay_public_key_id}")


def check_notify_url(notify_base_url: str | None, wechatpay_base_url: str) -> CheckResult:
    """WeChat posts notifications only to a public HTTPS URL; an emulator takes anything."""
    name, title = "notify-url", "notify URL (MPPAY_NOTIFY_BASE_URL)"
    fix = (
        "set MPPAY_NOTIFY_BASE_URL to the public https:// address of this service "
        "(a domain name reachable from the Internet, e.g. https://pay.example.com)"
    )
    if not notify_base_url:
        return failed(name, title, "not set", fix)
    try:
        url = httpx.URL(notify_base_url)
    except httpx.InvalidURL as exc:
        return failed(name, title, f"not a URL ({exc})", fix)
    if not is_wechat_pay(wechatpay_base_url):
        return passed(
            name,
            title,
            f"{notify_base_url} (MPPAY_WECHATPAY_BASE_URL is an emulator, so http and "
            "private addresses are fine; WeChat itself needs public HTTPS)",
        )
    problem = _not_public(url)
    if problem is None and len(notify_base_url) + 30 > _NOTIFY_URL_MAX:
        problem = f"longer than WeChat's {_NOTIFY_URL_MAX} characters with the notify path"
    if problem is None and (url.query or url.fragment):
        problem = "WeChat refuses notify URLs with a query string or fragment"
    if problem is not None:
        return failed(name, title, f"{notify_base_url}: {problem}", fix)
    return passed(name, title, f"{notify_base_url} is HTTPS and publicly shaped")


def _not_public(url: httpx.URL) -> str | None:
    if url.scheme != "https":
        return "not https:// (WeChat Pay sends notifications only over HTTPS)"
    host = url.host.lower().rstrip(".")
    if not host:
        return "has no host"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal", ".lan")):
            return f"{host} is a local name WeChat cannot resolve"
        if "." not in host:
            return f"{host} is not a fully qualified domain name"
        return None
    if not address.is_global:
        return f"{host} is a loopback, private, link-local or reserved address"
    return None
