"""Mini Program login: sandbox ``wx.login`` codes and ``GET /sns/jscode2session`` (§5).

Codes are single-use and live 5 minutes of business time. Only a successful exchange uses a code
up; an error (wrong secret, rate limit) leaves it valid, as a retry would find it. A sandbox user
is an openid under one appid; without an explicit openid, each appid has one stable default
user, so a page reload logs the same person in again.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from . import ids
from .clock import BusinessClock
from .state import EmulatorState, LoginCode

__all__ = ["CODE_LIFE", "RATE_LIMIT_PER_MINUTE", "LoginError", "Logins"]

CODE_LIFE = 300
RATE_LIMIT_PER_MINUTE = 100


class LoginError(ValueError):
    """A sandbox login request that cannot be served (unknown appid, foreign openid)."""


def _rid() -> str:
    return "-".join(secrets.token_hex(4) for _ in range(3))


def wechat_error(errcode: int, errmsg: str) -> dict[str, Any]:
    """``{"errcode", "errmsg"}`` with the ``rid`` suffix WeChat appends to every error text."""
    return {"errcode": errcode, "errmsg": f"{errmsg}, rid: {_rid()}"}


class Logins:
    def __init__(self, state: EmulatorState, clock: BusinessClock) -> None:
        self.state = state
        self.clock = clock
        self._calls: dict[str, list[float]] = {}

    def issue(
        self, appid: str, openid: str | None = None, *, blocked: bool = False
    ) -> dict[str, Any]:
        """A fresh code for ``openid`` (default: the appid's stable sandbox user)."""
        if self.state.merchant_by_appid(appid) is None:
            raise LoginError(f"no sandbox merchant has appid {appid}")
        if openid is None:
            default_key = f"default:{appid}"
            openid = self.state.users.get(default_key)
            if openid is None:
                openid = ids.openid()
                self.state.users[default_key] = openid
        owner = self.state.users.get(openid)
        if owner is not None and owner != appid:
            raise LoginError("this openid belongs to another appid")
        self.state.users[openid] = appid
        code = ids.login_code()
        self.state.login_codes[code] = LoginCode(
            code=code,
            appid=appid,
            openid=openid,
            session_key=ids.session_key(),
            expires_at=self.clock.now() + CODE_LIFE,
            blocked=blocked,
        )
        self._forget_old_codes()
        return {"code": code, "openid": openid}

    def _forget_old_codes(self) -> None:
        cutoff = self.clock.now() - 3600
        self.state.login_codes = {
            k: v for k, v in self.state.login_codes.items() if v.expires_at > cutoff
        }

    def code2session(self, params: Mapping[str, str]) -> dict[str, Any]:
        """What ``jscode2session`` answers (always HTTP 200; errors carry ``errcode``)."""
        appid = params.get("appid", "")
        secret = params.get("secret", "")
        js_code = params.get("js_code", "")
        if not appid:
            return wechat_error(41002, "appid missing")
        if not secret:
            return wechat_error(41004, "appsecret missing")
        if not js_code:
            return wechat_error(41008, "missing code")
        if params.get("grant_type") != "authorization_code":
            return wechat_error(40002, "invalid grant_type")
        merchant = self.state.merchant_by_appid(appid)
        if merchant is None:
            return wechat_error(40013, "invalid appid")
        if not secrets.compare_digest(secret.encode(), merchant.app_secret.encode()):
            return wechat_error(40125, "invalid appsecret")
        now = self.clock.now()
        code = self.state.login_codes.get(js_code)
        if code is None or code.used or code.appid != appid or code.expires_at <= now:
            return wechat_error(40029, "invalid code")
        if code.blocked:
            return wechat_error(40226, "code blocked")
        key = f"{appid}/{code.openid}"
        recent = [t for t in self._calls.get(key, []) if now - t < 60]
        if len(recent) >= RATE_LIMIT_PER_MINUTE:
            self._calls[key] = recent
            return wechat_error(45011, "api minute-quota reach limit mustslower retry next minute")
        self._calls[key] = [*recent, now]
        code.used = True
        return {"session_key": code.session_key, "openid": code.openid}
