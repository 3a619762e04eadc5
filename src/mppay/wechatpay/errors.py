"""Every way a WeChat Pay call or message can fail, as one tree.

The split that matters most for money: *WeChat refused* (``ApiError``: the request was
definitely not carried out, or carried out with a definite business answer) versus
*outcome unknown* (``OutcomeUnknownError``: a timeout, a reset connection, a 5xx, a
``SYSTEM_ERROR``, or a response we could not trust). Never mark a payment or refund failed on
an ``OutcomeUnknownError``: query, or retry with the same identifiers.

::

    WeChatPayError
    ├── ConfigurationError              a key or setting we were given is unusable
    ├── ProtocolError                   something WeChat (or someone) sent us is not acceptable
    │   ├── MalformedMessageError       not JSON/XML of the expected shape, missing fields
    │   ├── XmlError                    v2 XML refused by the safe codec
    │   │   ├── XmlForbiddenError       DTD, entity declarations or references (XXE, billion laughs)
    │   │   ├── XmlTooLargeError        body larger than the codec accepts
    │   │   └── XmlSyntaxError          not well-formed, not UTF-8, wrong root, nested values
    │   ├── DecryptionError             AES-GCM / AES-ECB payload does not decrypt (wrong key, tampered)
    │   ├── BillDigestError             downloaded bill does not match its SHA-1 (also OutcomeUnknown)
    │   └── VerificationError           signature checks on a response or notification
    │       ├── MissingHeaderError      a Wechatpay-* header (or v2 sign) is absent
    │       ├── TimestampSkewError      |now - Wechatpay-Timestamp| >= 300 s
    │       ├── UnknownSerialError      no key for Wechatpay-Serial, even after a refresh
    │       ├── SignatureProbeError     WeChat's WECHATPAY/SIGNTEST/ probe: must be rejected
    │       ├── SignatureMismatchError  the signature does not verify over the exact bytes
    │       └── UntrustedResponseError  an API response failed verification (also OutcomeUnknown)
    ├── ApiError                        WeChat answered with a definite refusal (status, code, message)
    │   ├── ParamError                  PARAM_ERROR / LACK_PARAMS / XML_FORMAT_ERROR ...
    │   ├── InvalidRequestError         INVALID_REQUEST (business rule), e.g. re-order with changed params
    │   ├── SignRejectedError           SIGN_ERROR / SIGNERROR: WeChat did not accept *our* signature
    │   ├── AuthorizationError          NO_AUTH / APPID_MCHID_NOT_MATCH / MCH_NOT_EXISTS / APPID_NOT_EXIST
    │   ├── OrderPaidError              ORDERPAID (v2), or a v3 refusal because the order is paid
    │   ├── OrderClosedError            ORDER_CLOSED / ORDERCLOSED
    │   ├── OrderNotFoundError          ORDER_NOT_EXIST / ORDERNOTEXIST
    │   ├── ResourceNotFoundError       RESOURCE_NOT_EXISTS / REFUNDNOTEXIST / "No Bill Exist"
    │   ├── OutTradeNoUsedError         OUT_TRADE_NO_USED
    │   ├── NotEnoughError              NOT_ENOUGH / NOTENOUGH (balance)
    │   ├── FrequencyLimitedError       FREQUENCY_LIMITED / RATELIMIT_EXCEEDED (429)
    │   ├── TradeError                  TRADE_ERROR / RULE_LIMIT / ACCOUNT_ERROR / USER_ACCOUNT_ABNORMAL ...
    │   ├── LoginError                  jscode2session errcode != 0
    │   │   ├── InvalidCodeError        40029: bad, used or expired wx.login code
    │   │   ├── CodeBlockedError        40226: high-risk user
    │   │   ├── InvalidCredentialError  40125 / 40013: wrong AppSecret or AppID (also stable_token)
    │   │   └── LoginRateLimitedError   45011
    │   └── MiniProgramApiError         Mini Program server API errcode != 0 (api.weixin.qq.com)
    │       ├── AccessTokenRejectedError 40001 / 42001 / 40014: the access_token is stale or invalid
    │       ├── ShippingRetryLaterError 10060001: the payment is not visible yet, retry in ~1 min
    │       └── ShippingRefusedError    other 1006xxxx / 2684852xx shipping rules (no retry helps)
    └── OutcomeUnknownError             we do not know whether WeChat acted
        ├── TransportError              timeout, connection refused/reset, TLS failure
        ├── ServerError                 HTTP 5xx, SYSTEM_ERROR / SYSTEMERROR / BIZERR_NEED_RETRY, errcode -1
        ├── UntrustedResponseError      (see above)
        └── BillDigestError             (see above)

Every error carries its evidence as attributes: ``status_code``, ``code``, ``message``,
``request_id`` and ``detail`` (whatever applies; ``None`` otherwise). Messages never contain
secrets (keys, signatures of secrets, session keys).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AccessTokenRejectedError",
    "ApiError",
    "AuthorizationError",
    "BillDigestError",
    "CodeBlockedError",
    "ConfigurationError",
    "DecryptionError",
    "FrequencyLimitedError",
    "InvalidCodeError",
    "InvalidCredentialError",
    "InvalidRequestError",
    "LoginError",
    "LoginRateLimitedError",
    "MalformedMessageError",
    "MiniProgramApiError",
    "MissingHeaderError",
    "NotEnoughError",
    "OrderClosedError",
    "OrderNotFoundError",
    "OrderPaidError",
    "OutTradeNoUsedError",
    "OutcomeUnknownError",
    "ParamError",
    "ProtocolError",
    "ResourceNotFoundError",
    "ServerError",
    "ShippingRefusedError",
    "ShippingRetryLaterError",
    "SignRejectedError",
    "SignatureMismatchError",
    "SignatureProbeError",
    "TimestampSkewError",
    "TradeError",
    "TransportError",
    "UnknownSerialError",
    "UntrustedResponseError",
    "VerificationError",
    "WeChatPayError",
    "XmlError",
    "XmlForbiddenError",
    "XmlSyntaxError",
    "XmlTooLargeError",
    "error_for",
]


class WeChatPayError(Exception):
    """Base of every error raised by ``mppay.wechatpay``.

    Attributes hold the evidence: HTTP ``status_code``, WeChat ``code`` (v3 ``code``, v2
    ``err_code`` / ``return_msg``, login ``errcode``), human ``message``, WeChat ``request_id``
    and ``detail`` (v3 error detail object or v2 fields). Any of them may be ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        detail: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.detail = detail

    def __str__(self) -> str:
        parts = [self.message]
        evidence = []
        if self.status_code is not None:
            evidence.append(f"status={self.status_code}")
        if self.code is not None:
            evidence.append(f"code={self.code}")
        if self.request_id:
            evidence.append(f"request_id={self.request_id}")
        if evidence:
            parts.append(f"({', '.join(evidence)})")
        return " ".join(parts)


class ConfigurationError(WeChatPayError):
    """A key, certificate or setting handed to the library cannot be used."""


class ProtocolError(WeChatPayError):
    """Something received over the wire is not acceptable."""


class MalformedMessageError(ProtocolError):
    """A body is not of the expected shape (bad JSON, missing or mistyped fields)."""


class XmlError(ProtocolError):
    """The safe v2 XML codec refused a document."""


class XmlForbiddenError(XmlError):
    """The document declares a DTD or entities, or references an entity (XXE / billion laughs)."""


class XmlTooLargeError(XmlError):
    """The document exceeds the size limit."""


class XmlSyntaxError(XmlError):
    """The document is not well-formed UTF-8 XML of the flat ``<xml><k>v</k>...</xml>`` shape."""


class DecryptionError(ProtocolError):
    """An encrypted payload did not decrypt: wrong key, tampered ciphertext or tag, bad padding."""


class VerificationError(ProtocolError):
    """A signature check on a response or notification failed."""


class MissingHeaderError(VerificationError):
    """A required ``Wechatpay-*`` header (or the v2 ``sign`` field) is absent or empty."""


class TimestampSkewError(VerificationError):
    """``Wechatpay-Timestamp`` is 300 seconds or more away from our clock (replay or skew)."""


class UnknownSerialError(VerificationError):
    """No platform certificate or public key matches ``Wechatpay-Serial``, even after refresh."""


class SignatureProbeError(VerificationError):
    """A ``WECHATPAY/SIGNTEST/`` probe: WeChat checks that merchants reject bad signatures."""


class SignatureMismatchError(VerificationError):
    """The signature does not verify over the exact bytes received."""


class OutcomeUnknownError(WeChatPayError):
    """We cannot tell whether WeChat carried out the request. Query or retry; never assume failure."""


class TransportError(OutcomeUnknownError):
    """Timeout, refused or reset connection, TLS failure: the request may or may not have arrived."""


class ServerError(OutcomeUnknownError):
    """WeChat answered 5xx or a retryable system error (``SYSTEM_ERROR``, ``BIZERR_NEED_RETRY``)."""


class UntrustedResponseError(VerificationError, OutcomeUnknownError):
    """An API response failed verification: it may be forged, so its content is discarded.

    The request itself may have been carried out, so this is also an ``OutcomeUnknownError``.
    """


class BillDigestError(ProtocolError, OutcomeUnknownError):
    """A downloaded bill does not match the SHA-1 digest WeChat announced for it."""


class ApiError(WeChatPayError):
    """WeChat refused the request with a definite answer (HTTP 4xx, or v2 ``result_code=FAIL``)."""


class ParamError(ApiError):
    """Parameters are missing or malformed (``PARAM_ERROR``, ``LACK_PARAMS``, ``XML_FORMAT_ERROR``)."""


class InvalidRequestError(ApiError):
    """Well-formed but against a business rule (``INVALID_REQUEST``)."""


class SignRejectedError(ApiError):
    """WeChat did not accept our request signature (``SIGN_ERROR`` / ``SIGNERROR``)."""


class AuthorizationError(ApiError):
    """The merchant / app is unknown, unbound or lacks permission."""


class OrderPaidError(ApiError):
    """The order is already paid (``ORDERPAID``)."""


class OrderClosedError(ApiError):
    """The order is closed (``ORDER_CLOSED`` / ``ORDERCLOSED``)."""


class OrderNotFoundError(ApiError):
    """WeChat has no such order (``ORDER_NOT_EXIST`` / ``ORDERNOTEXIST``)."""


class ResourceNotFoundError(ApiError):
    """WeChat has no such refund, bill or resource (``RESOURCE_NOT_EXISTS``, ``REFUNDNOTEXIST``)."""


class OutTradeNoUsedError(ApiError):
    """The ``out_trade_no`` was already used (``OUT_TRADE_NO_USED``)."""


class NotEnoughError(ApiError):
    """Insufficient balance (``NOT_ENOUGH`` / ``NOTENOUGH``)."""


class FrequencyLimitedError(ApiError):
    """Rate limited (HTTP 429, ``FREQUENCY_LIMITED``). For refunds, query before retrying."""


class TradeError(ApiError):
    """Any other business refusal (``TRADE_ERROR``, ``RULE_LIMIT``, ``ACCOUNT_ERROR`` ...)."""


class LoginError(ApiError):
    """``jscode2session`` returned a non-zero ``errcode``."""


class InvalidCodeError(LoginError):
    """40029: the ``wx.login`` code is invalid, already used, expired or for another AppID."""


class CodeBlockedError(LoginError):
    """40226: WeChat blocked the login of a high-risk user."""


class InvalidCredentialError(LoginError):
    """40125 (invalid AppSecret) or 40013 (invalid AppID): our configuration is wrong."""


class LoginRateLimitedError(LoginError):
    """45011: more than 100 logins per minute for this user."""


class MiniProgramApiError(ApiError):
    """The Mini Program server API (``api.weixin.qq.com``) answered a non-zero ``errcode``.

    ``code`` is the errcode as a string, ``request_id`` WeChat's ``rid`` from ``errmsg``.
    """


class AccessTokenRejectedError(MiniProgramApiError):
    """40001 / 42001 / 40014: the access_token is invalid, expired or not the latest.

    The client refreshes the token once and repeats the call before raising this.
    """


class ShippingRetryLaterError(MiniProgramApiError):
    """10060001 (支付单不存在): right after payment WeChat does not see the payment yet.

    Not a refusal of the shipment: nothing was recorded; upload again in about a minute.
    """


class ShippingRefusedError(MiniProgramApiError):
    """A shipping rule refused the upload (already shipped, update used, bad field ...)."""


# WeChat codes (v3 ``code`` and v2 ``err_code`` spellings) to the class that names their meaning.
_CLASS_BY_CODE: dict[str, type[WeChatPayError]] = {
    "PARAM_ERROR": ParamError,
    "LACK_PARAMS": ParamError,
    "XML_FORMAT_ERROR": ParamError,
    "POST_DATA_EMPTY": ParamError,
    "NOT_UTF8": ParamError,
    "REQUIRE_POST_METHOD": ParamError,
    "INVALID_REQUEST": InvalidRequestError,
    "INVALID_TRANSACTIONID": InvalidRequestError,
    "INVALID_REQ_TOO_MUCH": InvalidRequestError,
    "TRADE_OVERDUE": InvalidRequestError,
    "ERROR": InvalidRequestError,
    "TRADE_STATE_ERROR": InvalidRequestError,
    "SIGN_ERROR": SignRejectedError,
    "SIGNERROR": SignRejectedError,
    "NO_AUTH": AuthorizationError,
    "NOAUTH": AuthorizationError,
    "APPID_MCHID_NOT_MATCH": AuthorizationError,
    "MCH_NOT_EXISTS": AuthorizationError,
    "MCHID_NOT_EXIST": AuthorizationError,
    "APPID_NOT_EXIST": AuthorizationError,
    "ORDERPAID": OrderPaidError,
    "ORDER_PAID": OrderPaidError,
    "ORDER_CLOSED": OrderClosedError,
    "ORDERCLOSED": OrderClosedError,
    "ORDER_NOT_EXIST": OrderNotFoundError,
    "ORDERNOTEXIST": OrderNotFoundError,
    "RESOURCE_NOT_EXISTS": ResourceNotFoundError,
    "REFUNDNOTEXIST": ResourceNotFoundError,
    "OUT_TRADE_NO_USED": OutTradeNoUsedError,
    "NOT_ENOUGH": NotEnoughError,
    "NOTENOUGH": NotEnoughError,
    "FREQUENCY_LIMITED": FrequencyLimitedError,
    "RATELIMIT_EXCEEDED": FrequencyLimitedError,
    "TRADE_ERROR": TradeError,
    "RULE_LIMIT": TradeError,
    "RULELIMIT": TradeError,
    "ACCOUNT_ERROR": TradeError,
    "ACCOUNTERROR": TradeError,
    "USER_ACCOUNT_ABNORMAL": TradeError,
    "OPENID_MISMATCH": TradeError,
    "BANK_ERROR": ServerError,
    "BANKERROR": ServerError,
    "SYSTEM_ERROR": ServerError,
    "SYSTEMERROR": ServerError,
    "BIZERR_NEED_RETRY": ServerError,
    "SERVICE_UNAVAILABLE": ServerError,
}


def error_for(
    code: str | None,
    message: str,
    *,
    status_code: int | None = None,
    request_id: str | None = None,
    detail: Any = None,
) -> WeChatPayError:
    """Build the error that names what WeChat answered.

    A known ``code`` decides the class; otherwise HTTP 5xx means ``ServerError`` (outcome
    unknown), 429 ``FrequencyLimitedError``, 401 ``SignRejectedError``, 404
    ``ResourceNotFoundError`` and any other status ``ApiError``.

    >>> type(error_for("ORDERPAID", "该订单已支付")).__name__
    'OrderPaidError'
    >>> type(error_for(None, "Bad Gateway", status_code=502)).__name__
    'ServerError'
    """
    cls: type[WeChatPayError] | None = _CLASS_BY_CODE.get(code or "")
    if cls is None:
        if status_code is not None and status_code >= 500:
            cls = ServerError
        elif status_code == 429:
            cls = FrequencyLimitedError
        elif status_code == 401:
            cls = SignRejectedError
        elif status_code == 404:
            cls = ResourceNotFoundError
        else:
            cls = ApiError
    return cls(message, status_code=status_code, code=code, request_id=request_id, detail=detail)
