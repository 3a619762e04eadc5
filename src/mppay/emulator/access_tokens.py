"""Access tokens of the Mini Program server API: ``POST /cgi-bin/stable_token`` and the checks.

Normal mode returns the current token until 5 minutes before its end, then a new one while the
old stays valid to its own end (WeChat's documented overlap); ``force_refresh`` voids the old
ones at once. Every API call checks its token: missing 41001, unknown or voided 40001,
expired 42001.
"""

from __future__ import annotations

import secrets
from typing import Any

from .clock import BusinessClock
from .login import wechat_error
from .shipping_state import AccessTokenRecord
from .state import EmulatorState, Merchant

__all__ = ["AccessTokens", "ShippingFailure"]

_RENEW_BEFORE = 300.0
_DAY = 86400.0


class ShippingFailure(Exception):
    """An errcode answer (always HTTP 200 at WeChat)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg

    def answer(self) -> dict[str, Any]:
        return wechat_error(self.errcode, self.errmsg)


class AccessTokens:
    def __init__(self, state: EmulatorState, clock: BusinessClock) -> None:
        self.state = state
        self.clock = clock

    def stable_token(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("grant_type") != "client_credential":
            raise ShippingFailure(40002, "invalid grant_type")
        appid, secret = body.get("appid"), body.get("secret")
        merchant = self.state.merchant_by_appid(appid) if isinstance(appid, str) else None
        if merchant is None:
            raise ShippingFailure(40013, "invalid appid")
        if not isinstance(secret, str) or not secrets.compare_digest(
            secret.encode(), merchant.app_secret.encode()
        ):
            raise ShippingFailure(40125, "invalid appsecret")
        now = self.clock.now()
        live = [
            t
            for t in self.state.access_tokens.values()
            if t.appid == merchant.appid and not t.revoked and t.expires_at > now
        ]
        newest = max(live, key=lambda t: t.issued_at, default=None)
        if body.get("force_refresh") is True:
            for t in live:
                t.revoked = True
            newest = None
        if newest is None or newest.expires_at - now <= _RENEW_BEFORE:
            lifetime = float(self.state.shipping_settings.token_lifetime_seconds)
            newest = AccessTokenRecord(
                token=secrets.token_urlsafe(96)[:128],
                appid=merchant.appid,
                issued_at=now,
                expires_at=now + lifetime,
            )
            self.state.access_tokens[newest.token] = newest
            self._forget_tokens(now)
        return {"access_token": newest.token, "expires_in": int(newest.expires_at - now)}

    def _forget_tokens(self, now: float) -> None:
        old = [k for k, t in self.state.access_tokens.items() if t.expires_at < now - _DAY]
        for key in old:
            del self.state.access_tokens[key]

    def revoke_tokens(self, appid: str) -> int:
        """What another instance's force_refresh does to ours (sandbox control)."""
        count = 0
        for record in self.state.access_tokens.values():
            if record.appid == appid and not record.revoked:
                record.revoked = True
                count += 1
        return count

    def merchant_for_token(self, token: str | None) -> Merchant:
        if not token:
            raise ShippingFailure(41001, "access_token missing")
        record = self.state.access_tokens.get(token)
        if record is None or record.revoked:
            raise ShippingFailure(
                40001, "invalid credential, access_token is invalid or not latest"
            )
        if record.expires_at <= self.clock.now():
            raise ShippingFailure(42001, "access_token expired")
        merchant = self.state.merchant_by_appid(record.appid)
        if merchant is None:
            raise ShippingFailure(40001, "invalid credential")
        return merchant
