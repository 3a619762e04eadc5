"""Registering a merchant: the keys WeChat would hold for it, fresh or given (§2.4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from . import ids
from .crypto import (
    generate_private_key,
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_pem,
    self_signed_certificate,
)
from .state import EmulatorState, Merchant

__all__ = ["KEY_MODES", "new_merchant"]

KEY_MODES = ("public_key", "certificate")


def _unused(make: Callable[[], str], taken: dict[str, Any]) -> str:
    while True:
        value = make()
        if value not in taken:
            return value


def _private_key(pem: str | None, label: str) -> rsa.RSAPrivateKey:
    if not pem:
        return generate_private_key()
    try:
        return load_private_key(pem)
    except (ValueError, TypeError) as exc:  # TypeError: an encrypted key without password
        raise ValueError(f"{label} is not an unencrypted RSA private key PEM") from exc


def new_merchant(
    state: EmulatorState,
    *,
    wall_now: float,
    business_now: float,
    key_mode: str,
    name: str | None,
    refund_notify_url: str | None,
    mchid: str | None,
    appid: str | None,
    app_secret: str | None,
    api_v2_key: str | None,
    api_v3_key: str | None,
    merchant_serial_no: str | None,
    merchant_private_key_pem: str | None,
    merchant_public_key_pem: str | None,
    wechatpay_public_key_id: str | None,
    wechatpay_private_key_pem: str | None,
    platform_private_key_pem: str | None,
) -> Merchant:
    """A merchant not yet registered in ``state``; ValueError on a bad or taken value.

    Keys not given are generated (RSA-2048, about 0.1 s each). The platform certificate is
    valid from the day before ``wall_now``: clients check validity against their real clock.
    """
    if key_mode not in KEY_MODES:
        raise ValueError("key_mode must be public_key or certificate")
    mchid = mchid or _unused(ids.mchid, state.merchants)
    if mchid in state.merchants:
        raise ValueError(f"merchant {mchid} already exists")
    appid = appid or ids.appid()
    if state.merchant_by_appid(appid) is not None:
        raise ValueError(f"appid {appid} is already bound to another merchant")
    for label, key in (("api_v3_key", api_v3_key), ("api_v2_key", api_v2_key)):
        if key is not None and len(key.encode()) != 32:
            raise ValueError(f"{label} must be 32 ASCII characters")
    if merchant_public_key_pem is None:
        private = _private_key(merchant_private_key_pem, "merchant_private_key_pem")
        merchant_private_key_pem = private_key_pem(private)
        merchant_public_key_pem = public_key_pem(private.public_key())
    else:
        load_public_key(merchant_public_key_pem)
    wechatpay = _private_key(wechatpay_private_key_pem, "wechatpay_private_key_pem")
    merchant = Merchant(
        mchid=mchid,
        appid=appid,
        app_secret=app_secret or ids.app_secret(),
        name=name or f"沙箱商户{mchid}",
        key_mode=key_mode,
        api_v2_key=api_v2_key or ids.alnum(32),
        api_v3_key=api_v3_key or ids.alnum(32),
        merchant_serial_no=(merchant_serial_no or f"{ids.serial_number():X}").upper(),
        merchant_public_key_pem=merchant_public_key_pem,
        merchant_private_key_pem=merchant_private_key_pem,
        wechatpay_public_key_id=wechatpay_public_key_id or ids.public_key_id(mchid, wall_now),
        wechatpay_private_key_pem=private_key_pem(wechatpay),
        wechatpay_public_key_pem=public_key_pem(wechatpay.public_key()),
        refund_notify_url=refund_notify_url,
        created_at=business_now,
    )
    if key_mode == "certificate":
        platform = _private_key(platform_private_key_pem, "platform_private_key_pem")
        start = datetime.fromtimestamp(wall_now, tz=UTC) - timedelta(days=1)
        certificate = self_signed_certificate(platform, ids.serial_number(), not_before=start)
        merchant.platform_private_key_pem = private_key_pem(platform)
        merchant.platform_serial_no = f"{certificate.serial_number:X}"
        merchant.platform_certificate_pem = certificate.public_bytes(Encoding.PEM).decode()
        merchant.platform_effective_at = certificate.not_valid_before_utc.timestamp()
        merchant.platform_expire_at = certificate.not_valid_after_utc.timestamp()
    return merchant
