"""The Mini Program login credentials: ``jscode2session`` with a code that cannot be valid.

WeChat checks the AppID and AppSecret before the code, so errcode 40029 (invalid code) means
both were accepted; 40013 names the AppID, 40125 the AppSecret.
"""

from __future__ import annotations

import secrets

import httpx

from mppay.settings import Settings
from mppay.wechatpay.errors import (
    InvalidCodeError,
    InvalidCredentialError,
    TransportError,
    WeChatPayError,
)
from mppay.wechatpay.login import MiniProgramLoginClient

from .result import CheckResult, failed, passed

__all__ = ["check_login"]

_NAME, _TITLE = "login", "jscode2session accepts MPPAY_APPID + MPPAY_APP_SECRET"


async def check_login(settings: Settings, http: httpx.AsyncClient) -> CheckResult:
    if not settings.appid or not settings.app_secret:
        return failed(
            _NAME,
            _TITLE,
            "MPPAY_APPID or MPPAY_APP_SECRET is not set",
            "set both from 微信公众平台 > 开发管理 > 开发设置 (AppID, AppSecret)",
        )
    client = MiniProgramLoginClient(
        settings.appid, settings.app_secret, base_url=settings.wechat_api_base_url, http=http
    )
    try:
        await client.code2session(f"mppay-doctor-{secrets.token_hex(12)}")
    except InvalidCodeError:
        return passed(
            _NAME, _TITLE, "a made-up code got errcode 40029: AppID and AppSecret accepted"
        )
    except InvalidCredentialError as exc:
        variable = "MPPAY_APPID" if exc.code == "40013" else "MPPAY_APP_SECRET"
        return failed(
            _NAME,
            _TITLE,
            f"WeChat refused {variable}: {exc.message}",
            f"set {variable} from 微信公众平台 > 开发管理 > 开发设置 (a reset AppSecret replaces "
            "the old one at once)",
        )
    except TransportError as exc:
        return failed(
            _NAME,
            _TITLE,
            f"could not reach {settings.wechat_api_base_url}: {exc.message}",
            "check MPPAY_WECHAT_API_BASE_URL and that this machine can reach it",
        )
    except WeChatPayError as exc:
        return failed(_NAME, _TITLE, f"unexpected answer: {exc}", "see WeChat's errcode and errmsg")
    return passed(_NAME, _TITLE, "answered (AppID and AppSecret accepted)")
