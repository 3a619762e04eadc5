"""Checks that talk to WeChat Pay through the protocol library (it signs; we only read verdicts).

- ``check_platform_certificates``: ``GET /v3/certificates`` downloads and decrypts with the
  APIv3 key (certificate mode; tried too while migrating to the public key);
- ``check_signed_call_v3`` / ``check_signed_call_v2``: a query for an ``out_trade_no`` that was
  never used. ``ORDER_NOT_EXIST`` / ``ORDERNOTEXIST`` means WeChat accepted our signature;
- ``check_live_mode``: verifies the signature on WeChat's answer to that query and reports
  which key WeChat signs with (public key or platform certificate): the mode that is live.
"""

from __future__ import annotations

import secrets

from mppay.settings import Settings
from mppay.wechatpay import PUBLIC_KEY_ID_PREFIX
from mppay.wechatpay.errors import (
    ApiError,
    AuthorizationError,
    DecryptionError,
    OrderNotFoundError,
    OutcomeUnknownError,
    ParamError,
    ResourceNotFoundError,
    SignRejectedError,
    TransportError,
    UnknownSerialError,
    UntrustedResponseError,
    VerificationError,
    WeChatPayError,
)
from mppay.wechatpay.v2 import WeChatPayV2Client
from mppay.wechatpay.v3 import WeChatPayV3Client

from .clock import Answer
from .result import CheckResult, failed, passed, skipped

__all__ = [
    "check_live_mode",
    "check_platform_certificates",
    "check_signed_call_v2",
    "check_signed_call_v3",
    "probe_out_trade_no",
]

_KEY_AND_SERIAL = (
    "MPPAY_MERCHANT_PRIVATE_KEY and MPPAY_MERCHANT_SERIAL_NO must be the key and the serial of "
    "one merchant API certificate of MPPAY_MCHID that is uploaded and active "
    "(商户平台 > API安全 > 管理证书)"
)
_MCHID = "check MPPAY_MCHID (the 10-digit 商户号 of the merchant platform)"
_APPID = (
    "check MPPAY_APPID: the Mini Program must be bound to MPPAY_MCHID "
    "(商户平台 > 产品中心 > AppID账号管理)"
)


def probe_out_trade_no() -> str:
    """An order number nobody ever used: the query can only answer 'no such order'."""
    return f"mppay-doctor-{secrets.token_hex(8)}"


def _refusal(exc: WeChatPayError, base_url: str, *, v2: bool = False) -> tuple[str, str]:
    """(what WeChat said, how to fix it) for a call that did not get the expected answer."""
    said = str(exc)
    if isinstance(exc, TransportError):
        return f"could not reach {base_url}: {exc.message}", (
            "check MPPAY_WECHATPAY_BASE_URL and that this machine can reach it (DNS, firewall, "
            "proxy variables)"
        )
    if isinstance(exc, SignRejectedError):
        if v2:
            return f"WeChat refused our signature: {said}", (
                "MPPAY_API_V2_KEY must be the API key (API密钥) set in 商户平台 > API安全, and "
                "MPPAY_V2_SIGN_TYPE one WeChat accepts"
            )
        return f"WeChat refused our signature: {said}", _KEY_AND_SERIAL
    if isinstance(exc, AuthorizationError):
        if exc.code in ("APPID_MCHID_NOT_MATCH", "APPID_NOT_EXIST"):
            return f"WeChat refused the app: {said}", _APPID
        if exc.code in ("MCH_NOT_EXISTS", "MCHID_NOT_EXIST"):
            return f"WeChat does not know the merchant: {said}", _MCHID
        return f"WeChat refused the merchant: {said}", (
            f"{_MCHID}; JSAPI payment must be enabled for it (商户平台 > 产品中心)"
        )
    if isinstance(exc, ParamError) and "mch_id" in exc.message:
        return f"WeChat does not know the merchant: {said}", _MCHID
    if isinstance(exc, UntrustedResponseError):
        return f"WeChat's answer did not verify: {said}", (
            "check MPPAY_API_V2_KEY"
            if v2
            else "check MPPAY_WECHATPAY_PUBLIC_KEY / MPPAY_WECHATPAY_PUBLIC_KEY_ID (public-key "
            "mode) or MPPAY_API_V3_KEY (certificate mode)"
        )
    if isinstance(exc, OutcomeUnknownError):
        return f"WeChat Pay did not answer usefully: {said}", (
            "retry in a minute; if it persists check MPPAY_WECHATPAY_BASE_URL"
        )
    return f"unexpected answer: {said}", "see WeChat's message; the variables above decide it"


async def check_platform_certificates(
    client: WeChatPayV3Client | None, settings: Settings
) -> CheckResult:
    """Certificate mode: download and decrypt the platform certificates with the APIv3 key."""
    name, title = "platform-certificates", "platform certificates download and decrypt"
    public_key_mode = bool(settings.wechatpay_public_key and settings.wechatpay_public_key_id)
    if client is None or client.certificate_store is None or not settings.api_v3_key:
        return skipped(name, title, "no API v3 client (API v2 only)")
    base = settings.wechatpay_base_url
    try:
        await client.certificate_store.refresh()
    except DecryptionError as exc:
        return failed(
            name,
            title,
            f"the certificates do not decrypt with MPPAY_API_V3_KEY ({exc.message})",
            "MPPAY_API_V3_KEY is not this merchant's APIv3 key: copy it again, or set a new one "
            "in 商户平台 > API安全 > 设置APIv3密钥 (notifications would not decrypt either)",
        )
    except ApiError as exc:
        if public_key_mode:
            # Not needed with the public key; a refusal of our signature is reported (once)
            # by the signed call below.
            return skipped(
                name,
                title,
                f"not downloaded ({exc.code or exc.status_code}): not needed, the WeChat Pay "
                "public key is configured (MPPAY_API_V3_KEY is then proven by the first "
                "notification, which it decrypts)",
            )
        if isinstance(exc, ResourceNotFoundError):
            return failed(
                name,
                title,
                f"WeChat has no platform certificates for this merchant ({exc})",
                "this merchant uses the WeChat Pay public key: set MPPAY_WECHATPAY_PUBLIC_KEY and "
                "MPPAY_WECHATPAY_PUBLIC_KEY_ID (商户平台 > API安全 > 微信支付公钥)",
            )
        detail, fix = _refusal(exc, base)
        return failed(name, title, detail, fix)
    except WeChatPayError as exc:
        detail, fix = _refusal(exc, base)
        return failed(name, title, detail, fix)
    held = client.certificate_store.valid_certificates()
    listing = ", ".join(f"{c.serial_no} until {c.expire_time:%Y-%m-%d}" for c in held)
    return passed(
        name, title, f"{len(held)} decrypted with MPPAY_API_V3_KEY and verified: {listing}"
    )


async def check_signed_call_v3(client: WeChatPayV3Client | None, base_url: str) -> CheckResult:
    name, title = "signed-call-v3", "WeChat Pay accepts our API v3 signature"
    if client is None:
        return skipped(name, title, "no API v3 client (API v2 only)")
    out_trade_no = probe_out_trade_no()
    try:
        await client.query_order_by_out_trade_no(out_trade_no)
    except OrderNotFoundError:
        return passed(
            name, title, f"query of unused {out_trade_no}: ORDER_NOT_EXIST (signature accepted)"
        )
    except WeChatPayError as exc:
        detail, fix = _refusal(exc, base_url)
        return failed(name, title, detail, fix)
    return passed(name, title, f"query of {out_trade_no} answered (signature accepted)")


async def check_signed_call_v2(client: WeChatPayV2Client | None, base_url: str) -> CheckResult:
    name, title = "signed-call-v2", "WeChat Pay accepts our API v2 signature"
    if client is None:
        return skipped(name, title, "MPPAY_API_V2_KEY not set (API v3 only)")
    out_trade_no = probe_out_trade_no()
    try:
        await client.order_query(out_trade_no=out_trade_no)
    except OrderNotFoundError:
        return passed(
            name,
            title,
            f"orderquery of unused {out_trade_no}: ORDERNOTEXIST (signature accepted, answer "
            "verified)",
        )
    except WeChatPayError as exc:
        detail, fix = _refusal(exc, base_url, v2=True)
        return failed(name, title, detail, fix)
    return passed(name, title, f"orderquery of {out_trade_no} answered (signature accepted)")


async def check_live_mode(
    client: WeChatPayV3Client | None, answer: Answer | None, settings: Settings
) -> CheckResult:
    """Which key WeChat signs with (the live mode), and that we verify what it signs."""
    name, title = "live-mode", "WeChat Pay's signature verifies (live mode)"
    if client is None:
        return skipped(name, title, "API v2 only: answers are signed with MPPAY_API_V2_KEY")
    configured_public_key = settings.wechatpay_public_key_id
    held = client.certificate_store.valid_certificates() if client.certificate_store else []
    also = []
    if configured_public_key:
        also.append(f"public key {configured_public_key}")
    if held:
        also.append(f"platform certificates {', '.join(c.serial_no for c in held)}")
    accepted = f"notifications signed with any of: {' and '.join(also) or 'nothing yet'}"
    if answer is None or "Wechatpay-Signature" not in answer.response.headers:
        mode = "public-key" if configured_public_key else "certificate"
        return skipped(
            name, title, f"WeChat did not sign its answer; configured: {mode} mode; {accepted}"
        )
    serial = answer.response.headers.get("Wechatpay-Serial", "")
    try:
        await client.validator.validate(answer.response.headers, answer.response.content)
    except UnknownSerialError:
        if serial.startswith(PUBLIC_KEY_ID_PREFIX):
            return failed(
                name,
                title,
                f"WeChat signs with the public key {serial[:64]}, which is not configured",
                f"set MPPAY_WECHATPAY_PUBLIC_KEY_ID={serial[:64]} and MPPAY_WECHATPAY_PUBLIC_KEY "
                "to that key (商户平台 > API安全 > 微信支付公钥)",
            )
        return failed(
            name,
            title,
            f"WeChat signs with platform certificate {serial[:64]}, which we do not hold",
            "fix the platform certificate check above, or configure the WeChat Pay public key",
        )
    except VerificationError as exc:
        return failed(
            name,
            title,
            f"the signature with {serial[:64]} does not verify ({exc.message})",
            "MPPAY_WECHATPAY_PUBLIC_KEY is not the key MPPAY_WECHATPAY_PUBLIC_KEY_ID names: "
            "download pub_key.pem again"
            if serial.startswith(PUBLIC_KEY_ID_PREFIX)
            else "the platform certificate did not match: run `mppay doctor` again",
        )
    if serial.startswith(PUBLIC_KEY_ID_PREFIX):
        live = f"public-key mode is live: WeChat signs with {serial}"
    else:
        live = f"certificate mode is live: WeChat signs with platform certificate {serial}"
    return passed(name, title, f"{live} (verified); {accepted}")
