"""Reading the Mini Program server API's answers: ``{"errcode": 0, "errmsg": "ok", ...}``.

Every call of ``api.weixin.qq.com`` answers HTTP 200 with an ``errcode``; 0 is success. The
errcode decides the error class (see ``errors``), ``rid`` in ``errmsg`` is the request id.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mppay.wechatpay.errors import (
    AccessTokenRejectedError,
    ApiError,
    FrequencyLimitedError,
    InvalidCredentialError,
    MalformedMessageError,
    MiniProgramApiError,
    ParamError,
    ServerError,
    ShippingRefusedError,
    ShippingRetryLaterError,
    WeChatPayError,
)

__all__ = ["TOKEN_REJECTED_ERRCODES", "read_answer"]

TOKEN_REJECTED_ERRCODES = frozenset({40001, 42001, 40014})
"""invalid credential / access_token expired / invalid access_token: refresh once, repeat."""

_RID = re.compile(r"rid:\s*([0-9A-Za-z-]+)")

_CLASS_BY_ERRCODE: dict[int, type[WeChatPayError]] = {
    -1: ServerError,  # 系统繁忙
    40001: AccessTokenRejectedError,
    42001: AccessTokenRejectedError,
    40014: AccessTokenRejectedError,
    40013: InvalidCredentialError,
    40125: InvalidCredentialError,
    45009: FrequencyLimitedError,  # daily quota
    45011: FrequencyLimitedError,
    47001: ParamError,  # data format error (e.g. shipping_list not an array)
    10060001: ShippingRetryLaterError,
    10060012: ServerError,  # 系统错误
    10060019: ServerError,  # 系统错误
}


def _class_for(errcode: int) -> type[WeChatPayError]:
    cls = _CLASS_BY_ERRCODE.get(errcode)
    if cls is not None:
        return cls
    # 1006xxxx are the shipping rules; 268485xxx the field checks of the same API.
    if 10060000 <= errcode < 10070000 or 268485000 <= errcode < 268486000:
        return ShippingRefusedError
    return MiniProgramApiError


def read_answer(path: str, status_code: int, body: bytes) -> dict[str, Any]:
    """The JSON object of a successful answer, or the error that names the failure.

    HTTP 5xx and errcode -1 are ``ServerError`` (outcome unknown); other non-200 statuses
    ``ApiError``; a body that is not a JSON object or has a non-integer errcode
    ``MalformedMessageError``.
    """
    if status_code >= 500:
        raise ServerError(f"{path}: HTTP {status_code}", status_code=status_code)
    if status_code != 200:
        raise ApiError(f"{path}: HTTP {status_code}", status_code=status_code)
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise MalformedMessageError(f"{path}: answer is not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedMessageError(f"{path}: answer is not a JSON object")
    errcode = payload.get("errcode", 0)
    if isinstance(errcode, bool) or not isinstance(errcode, int):
        raise MalformedMessageError(f"{path}: errcode is not an integer")
    if errcode != 0:
        errmsg = payload.get("errmsg")
        text = (errmsg if isinstance(errmsg, str) else "")[:200]
        rid = _RID.search(text)
        raise _class_for(errcode)(
            f"{path}: errcode {errcode}: {text or 'no errmsg'}",
            code=str(errcode),
            request_id=rid.group(1) if rid else None,
            detail={"errcode": errcode, "errmsg": text},
        )
    return payload
