"""The parameters a Mini Program passes, untouched, to ``wx.requestPayment``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["RequestPaymentParams", "SignType"]

SignType = Literal["RSA", "MD5", "HMAC-SHA256"]


@dataclass(frozen=True)
class RequestPaymentParams:
    """Signed ``wx.requestPayment`` arguments; every value is a string, as WeChat requires.

    ``app_id`` is part of what was signed but is not passed to ``wx.requestPayment`` in a
    Mini Program, so ``to_dict()`` leaves it out (``to_dict(include_app_id=True)`` keeps it,
    e.g. for JSAPI web pages or the emulator's sandbox).
    """

    app_id: str
    time_stamp: str
    nonce_str: str
    package: str
    sign_type: SignType
    pay_sign: str

    def to_dict(self, *, include_app_id: bool = False) -> dict[str, str]:
        params = {
            "timeStamp": self.time_stamp,
            "nonceStr": self.nonce_str,
            "package": self.package,
            "signType": self.sign_type,
            "paySign": self.pay_sign,
        }
        if include_app_id:
            params = {"appId": self.app_id, **params}
        return params
