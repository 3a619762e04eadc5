"""Wiring of shipping information from settings (called by ``bootstrap``).

Shipping needs the Mini Program's AppSecret (for the stable access_token) and is on unless
``MPPAY_SHIPPING_ENABLED=false``; message push needs ``MPPAY_MESSAGE_PUSH_TOKEN`` (and, for
safe mode, ``MPPAY_MESSAGE_PUSH_AES_KEY``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from mppay.adapters.shipping import MessagePushAdapter, WeChatShippingGateway
from mppay.settings import Settings, SettingsError
from mppay.usecases.ports import Clock
from mppay.usecases.shipping_ports import ShippingSetup
from mppay.wechatpay.errors import ConfigurationError
from mppay.wechatpay.miniprogram import MessagePushVerifier, MiniProgramServerClient

__all__ = ["shipping_setup"]


def shipping_setup(
    settings: Settings,
    *,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None,
    closers: list[Callable[[], Awaitable[None]]],
) -> ShippingSetup | None:
    """The ``ShippingSetup`` for ``ServiceContext.shipping``, or None when switched off."""
    if not settings.shipping_enabled or not settings.appid or not settings.app_secret:
        return None
    http = httpx.AsyncClient(
        transport=transport,
        trust_env=transport is None and settings.wechat_api_base_url.startswith("https://"),
    )
    closers.append(http.aclose)
    client = MiniProgramServerClient(
        settings.appid,
        settings.app_secret,
        base_url=settings.wechat_api_base_url,
        http=http,
        clock=clock,
        timeout=settings.wechatpay_timeout_seconds,
    )
    verifier = None
    if settings.message_push_token:
        try:
            verifier = MessagePushAdapter(
                MessagePushVerifier(
                    settings.message_push_token,
                    encoding_aes_key=settings.message_push_aes_key or None,
                    appid=settings.appid,
                )
            )
        except ConfigurationError as exc:
            raise SettingsError(f"MPPAY_MESSAGE_PUSH_*: {exc.message}") from exc
    return ShippingSetup(
        gateway=WeChatShippingGateway(client),
        verifier=verifier,
        retry_base_seconds=settings.shipping_retry_seconds,
        alert_after_seconds=settings.shipping_alert_after_hours * 3600,
    )
