"""The login port over ``jscode2session``."""

from __future__ import annotations

from mppay.usecases.ports import LoginIdentity, LoginRejected, OutcomeUnknown
from mppay.wechatpay import errors as wx
from mppay.wechatpay.login import MiniProgramLoginClient

__all__ = ["WeChatLoginGateway"]


class WeChatLoginGateway:
    def __init__(self, client: MiniProgramLoginClient) -> None:
        self.client = client

    async def code2session(self, code: str) -> LoginIdentity:
        try:
            session = await self.client.code2session(code)
        except wx.LoginError as exc:
            raise LoginRejected(exc.code or "", exc.message) from exc
        except wx.WeChatPayError as exc:
            raise OutcomeUnknown(exc.message, code=exc.code) from exc
        # session_key is deliberately dropped here: mppay never stores or returns it.
        return LoginIdentity(openid=session.openid, unionid=session.unionid)
