"""``mppay doctor``: every check, in the order a merchant would fix them.

Reads the same ``Settings`` as ``mppay serve`` and builds the protocol library's clients the
way the service does (``bootstrap.merchant_config``), so what passes here is what the service
will use. Nothing is written: no migration, no order, no payment.
"""

from __future__ import annotations

import httpx
from rich.console import Console

from mppay.bootstrap import merchant_config
from mppay.settings import Settings, SettingsError
from mppay.wechatpay import MerchantConfig
from mppay.wechatpay.errors import ConfigurationError
from mppay.wechatpay.v2 import WeChatPayV2Client
from mppay.wechatpay.v3 import WeChatPayV3Client

from .clock import DEFAULT_MAX_SKEW_SECONDS, AnswerRecorder, check_clock
from .database import check_database
from .local import (
    check_api_v2_key,
    check_api_v3_key,
    check_merchant_certificate,
    check_merchant_key,
    check_notify_url,
    check_settings,
    check_wechatpay_public_key,
)
from .miniprogram import check_login
from .pay import (
    check_live_mode,
    check_platform_certificates,
    check_signed_call_v2,
    check_signed_call_v3,
)
from .render import render_json, render_text
from .result import CheckResult, failed

__all__ = ["doctor", "run_checks"]


async def doctor(*, as_json: bool, max_clock_skew_seconds: float) -> int:
    """The command: read the settings, run the checks, print them; 0 only when all pass."""
    try:
        settings = Settings()
    except ValueError as exc:  # pydantic's ValidationError: a value of the wrong type or range
        results = [
            failed(
                "settings",
                "settings pass real-mode validation",
                " ".join(str(exc).split())[:500],
                "fix the MPPAY_* variable named above (environment or .env)",
            )
        ]
    else:
        results = await run_checks(settings, max_clock_skew_seconds=max_clock_skew_seconds)
    if as_json:
        print(render_json(results))
    else:
        render_text(results, Console(highlight=False))
    return 0 if all(r.ok for r in results) else 1


async def run_checks(
    settings: Settings, *, max_clock_skew_seconds: float = DEFAULT_MAX_SKEW_SECONDS
) -> list[CheckResult]:
    """Run every check; never raises for a bad configuration (that is a failed check)."""
    results = [
        check_settings(settings),
        check_merchant_key(settings),
        check_merchant_certificate(settings),
        check_api_v3_key(settings),
        check_api_v2_key(settings),
        check_wechatpay_public_key(settings),
    ]
    results += await _wechat_checks(settings, max_clock_skew_seconds)
    results.append(check_notify_url(settings.notify_base_url, settings.wechatpay_base_url))
    results.append(await check_database(settings.database_url))
    return results


async def _wechat_checks(settings: Settings, max_skew: float) -> list[CheckResult]:
    try:
        config = merchant_config(settings)
    except SettingsError as exc:
        return [
            failed(
                "wechatpay",
                "WeChat Pay checks",
                f"not run: {exc}",
                "fix the settings above, then run `mppay doctor` again",
            )
        ]
    timeout = httpx.Timeout(
        settings.wechatpay_timeout_seconds, connect=min(5.0, settings.wechatpay_timeout_seconds)
    )
    recorder = AnswerRecorder()
    async with (
        httpx.AsyncClient(
            timeout=timeout,
            event_hooks={"response": [recorder]},
            trust_env=not settings.wechatpay_base_url.startswith("http://"),
        ) as http,
        httpx.AsyncClient(
            timeout=timeout,
            trust_env=not settings.wechat_api_base_url.startswith("http://"),
        ) as login_http,
    ):
        v3 = _v3_client(config, http, timeout)
        v2 = _v2_client(config, settings, http)
        base = settings.wechatpay_base_url
        results = [await check_platform_certificates(v3, settings)]
        results.append(await check_signed_call_v3(v3, base))
        results.append(await check_live_mode(v3, recorder.last("/v3/pay/transactions/"), settings))
        results.append(await check_signed_call_v2(v2, base))
        results.append(await check_login(settings, login_http))
        results.append(check_clock(recorder.best_clock_evidence(), max_skew))
    return results


def _v3_client(
    config: MerchantConfig, http: httpx.AsyncClient, timeout: httpx.Timeout
) -> WeChatPayV3Client | None:
    if config.merchant_private_key is None or config.api_v3_key is None:
        return None
    try:
        return WeChatPayV3Client(config, http=http, timeout=timeout)
    except ConfigurationError:
        return None  # reported by the merchant key check


def _v2_client(
    config: MerchantConfig, settings: Settings, http: httpx.AsyncClient
) -> WeChatPayV2Client | None:
    if config.api_v2_key is None:
        return None
    return WeChatPayV2Client(
        config,
        http=http,
        sign_type=settings.v2_sign_type,
        timeout=settings.wechatpay_timeout_seconds,
    )
