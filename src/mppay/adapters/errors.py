"""Library errors to port errors: keep "WeChat refused" apart from "outcome unknown"."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from mppay.usecases.ports import (
    AlreadyClosed,
    AlreadyPaid,
    GatewayError,
    OutcomeUnknown,
    Refused,
    UnknownAtWeChat,
)
from mppay.wechatpay import errors as wx

__all__ = ["to_port_error", "wechat_call"]

T = TypeVar("T")


def to_port_error(exc: wx.WeChatPayError) -> GatewayError:
    """The port error that says what ``exc`` means for the payment flow.

    Anything we cannot read or trust (malformed or unsigned answers) is outcome unknown, as
    is rate limiting: WeChat's refund guide says to query before retrying after a 429.
    """
    code = exc.code
    message = exc.message
    if isinstance(exc, wx.OutcomeUnknownError | wx.ProtocolError | wx.FrequencyLimitedError):
        return OutcomeUnknown(message, code=code)
    if isinstance(exc, wx.OrderPaidError):
        return AlreadyPaid(message, code=code)
    if isinstance(exc, wx.OrderClosedError):
        return AlreadyClosed(message, code=code)
    if isinstance(exc, wx.OrderNotFoundError | wx.ResourceNotFoundError):
        return UnknownAtWeChat(message, code=code)
    return Refused(message, code=code)


async def wechat_call(call: Awaitable[T]) -> T:
    """Await a library call, translating its errors into the port's."""
    try:
        return await call
    except wx.WeChatPayError as exc:
        raise to_port_error(exc) from exc
