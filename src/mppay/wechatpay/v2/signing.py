"""API v2 signatures: MD5 or HMAC-SHA256 over sorted ``k=v`` pairs plus ``&key=<API v2 key>``.

Spec 4.2, step by step: drop ``sign`` and empty values (unknown fields stay in), sort the keys
by ASCII, join ``k=v`` with ``&`` using the raw values, append ``&key=<key>``, then take MD5 or
HMAC-SHA256 (keyed with the same API v2 key, over the same string) as upper-case hex.

Which algorithm verifies what:

- a **notification** declares its own ``sign_type`` (MD5 when absent) and is verified with
  exactly that -- ``verify_sign(params, key)``;
- an **API response** is signed with the algorithm of the request that caused it, and WeChat
  does not echo ``sign_type`` in it (the official Java SDK: "返回数据的签名方式和请求中给定的签名方式
  是一致的"), so the client passes it: ``verify_sign(params, key, sign_type=...)``.

Never both: if the declared or expected algorithm does not verify, the message is rejected
rather than retried with the other one (spec 8.14). Trying the other algorithm would not forge
anything without the key, but it would hide a misconfiguration and make the accepted input set
larger than the one WeChat documents; the community report behind 8.14 is explained by
verifying with the *order's* sign type instead of the notification's own field, which this
module never does.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Literal, get_args

from mppay.wechatpay.errors import MissingHeaderError, SignatureMismatchError

__all__ = ["SignType", "sign", "sign_string", "verify_sign"]

SignType = Literal["MD5", "HMAC-SHA256"]
_SIGN_TYPES: tuple[str, ...] = get_args(SignType)


def sign_string(params: Mapping[str, str], key: str) -> str:
    """The exact string that is hashed: ``a=1&b=2&key=<key>`` (``sign`` and empties dropped).

    >>> sign_string({"b": "2", "a": "1", "c": "", "sign": "X"}, "k")
    'a=1&b=2&key=k'
    """
    pairs = [f"{name}={params[name]}" for name in sorted(params) if name != "sign" and params[name]]
    pairs.append(f"key={key}")
    return "&".join(pairs)


def sign(params: Mapping[str, str], key: str, sign_type: SignType = "MD5") -> str:
    """Sign ``params`` with the API v2 ``key``; returns upper-case hex.

    When ``params`` carries ``sign_type`` it is part of the signed string and must agree with
    ``sign_type`` (a ``ValueError`` otherwise: the receiver would verify with the other one).
    """
    if sign_type not in _SIGN_TYPES:
        raise ValueError(f"sign_type must be one of {_SIGN_TYPES}, not {sign_type!r}")
    declared = params.get("sign_type")
    if declared and declared != sign_type:
        raise ValueError(f"params declare sign_type={declared!r} but are signed with {sign_type!r}")
    message = sign_string(params, key).encode("utf-8")
    if sign_type == "HMAC-SHA256":
        return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest().upper()
    # MD5 is what WeChat's v2 protocol mandates by default; it is not our choice of hash.
    return hashlib.md5(message).hexdigest().upper()  # noqa: S324


def verify_sign(params: Mapping[str, str], key: str, *, sign_type: SignType | None = None) -> None:
    """Check the ``sign`` of received ``params`` in constant time; returns ``None`` when valid.

    ``sign_type=None`` (notifications): use the params' own ``sign_type``, MD5 when absent.
    ``sign_type`` given (API responses): use it; a different declared ``sign_type`` in the
    params is a mismatch.

    Raises ``MissingHeaderError`` when ``sign`` is absent or empty, and
    ``SignatureMismatchError`` when it does not verify, when the declared ``sign_type`` is not
    one WeChat defines, or when it contradicts the expected one.
    """
    received = params.get("sign")
    if not received:
        raise MissingHeaderError("the v2 message carries no sign")
    declared = params.get("sign_type") or None
    if declared is not None and declared not in _SIGN_TYPES:
        raise SignatureMismatchError(f"unsupported sign_type {declared[:32]!r}")
    algorithm: str
    if sign_type is None:
        algorithm = declared or "MD5"
    else:
        if declared is not None and declared != sign_type:
            raise SignatureMismatchError(
                f"message declares sign_type {declared} but {sign_type} was expected"
            )
        algorithm = sign_type
    expected = sign(params, key, "HMAC-SHA256" if algorithm == "HMAC-SHA256" else "MD5")
    if not hmac.compare_digest(expected.encode("ascii"), received.encode("utf-8")):
        raise SignatureMismatchError(f"v2 {algorithm} sign does not verify")
