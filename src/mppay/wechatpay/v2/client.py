"""``WeChatPayV2Client``: the legacy XML API (spec 4), composed from pure steps.

Every call: business fields -> ``signed_request_fields`` (``appid``, ``mch_id``, ``nonce_str``,
``sign_type`` unless MD5, ``sign``) -> ``build_xml`` -> POST through ``_http.send`` (the only
place that sends) -> ``read_response``:

- HTTP status other than 200: 5xx -> ``ServerError`` (outcome unknown), else ``ApiError``;
- a body the safe codec refuses -> ``UntrustedResponseError`` (outcome unknown);
- ``return_code=FAIL`` (unsigned): ``签名``/``SIGN`` -> ``SignRejectedError``, ``参数``/``PARAM``/
  ``XML`` -> ``ParamError``, else ``ApiError``;
- ``return_code=SUCCESS``: the ``sign`` is verified with the *request's* sign type before
  anything else is read (failure -> ``UntrustedResponseError``), then ``appid``/``mch_id`` must be
  ours, then ``result_code=FAIL`` -> ``errors.error_for(err_code, ...)`` (``SYSTEMERROR`` /
  ``BIZERR_NEED_RETRY`` -> ``ServerError``, ``ORDERPAID`` -> ``OrderPaidError`` ...).

A signed answer that lacks expected fields is a ``MalformedMessageError``; after ``refund`` or
``unified_order`` treat it like an unknown outcome and query.

Default ``sign_type`` is ``HMAC-SHA256``: it is a real MAC, whereas ``MD5(message + &key=...)``
is a secret-suffix hash built on a broken function. Every v2 endpoint used here accepts it, and
``request_payment_params`` signs with the same type, as WeChat requires (spec 3.2). Choose
``"MD5"`` only for a counterpart that knows nothing else.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import date
from types import TracebackType
from typing import Literal, Self

import httpx

from mppay.wechatpay._http import send
from mppay.wechatpay.clock import Clock, NonceFactory, SystemClock, random_nonce, unix_seconds
from mppay.wechatpay.config import MerchantConfig
from mppay.wechatpay.errors import (
    ApiError,
    MalformedMessageError,
    ParamError,
    ResourceNotFoundError,
    ServerError,
    SignRejectedError,
    UntrustedResponseError,
    VerificationError,
    WeChatPayError,
    XmlError,
    error_for,
)
from mppay.wechatpay.request_payment import RequestPaymentParams

from .models import (
    UnifiedOrderRequest,
    UnifiedOrderResult,
    V2Order,
    V2RefundQueryResult,
    V2RefundRequest,
    V2RefundResult,
)
from .signing import SignType, sign, verify_sign
from .xml import build_xml, parse_xml

__all__ = ["WeChatPayV2Client", "read_response", "signed_request_fields"]

BillType = Literal["ALL", "SUCCESS", "REFUND", "RECHARGE_REFUND"]
_DEFAULT_MAX_BILL_BYTES = 512 * 1024 * 1024


def signed_request_fields(
    config: MerchantConfig, fields: Mapping[str, str], *, nonce: str, sign_type: SignType
) -> dict[str, str]:
    """The complete signed field set for one v2 request (empty business values dropped)."""
    signed = {"appid": config.appid, "mch_id": config.mchid, "nonce_str": nonce}
    signed.update({name: value for name, value in fields.items() if value})
    if sign_type != "MD5":
        signed["sign_type"] = sign_type
    signed["sign"] = sign(signed, config.require_api_v2_key(), sign_type)
    return signed


def read_response(
    status_code: int, body: bytes, *, config: MerchantConfig, sign_type: SignType, endpoint: str
) -> dict[str, str]:
    """Check one v2 API answer and return its verified fields (see the module docstring)."""
    if status_code != 200:
        cls = ServerError if status_code >= 500 else ApiError
        raise cls(f"{endpoint}: HTTP {status_code}", status_code=status_code)
    try:
        fields = parse_xml(body)
    except XmlError as exc:
        raise UntrustedResponseError(
            f"{endpoint}: response refused by the XML codec ({exc.message}); outcome unknown",
            status_code=status_code,
        ) from exc
    return_code = fields.get("return_code")
    if return_code == "FAIL":
        raise _return_fail_error(endpoint, fields)
    if return_code != "SUCCESS":
        raise UntrustedResponseError(f"{endpoint}: response has no valid return_code")
    try:
        verify_sign(fields, config.require_api_v2_key(), sign_type=sign_type)
    except VerificationError as exc:
        raise UntrustedResponseError(
            f"{endpoint}: response sign rejected ({exc.message}); outcome unknown"
        ) from exc
    for name, expected in (("appid", config.appid), ("mch_id", config.mchid)):
        if name in fields and fields[name] != expected:
            raise UntrustedResponseError(f"{endpoint}: response is for another {name}")
    result_code = fields.get("result_code")
    if result_code == "FAIL":
        err_code = fields.get("err_code") or None
        description = fields.get("err_code_des") or err_code or "result_code FAIL"
        raise error_for(err_code, f"{endpoint}: {description}", detail=_evidence(fields))
    if result_code != "SUCCESS":
        raise MalformedMessageError(f"{endpoint}: signed response has no valid result_code")
    return fields


def _return_fail_error(endpoint: str, fields: Mapping[str, str]) -> WeChatPayError:
    return_msg = fields.get("return_msg") or "return_code FAIL"
    upper = return_msg.upper()
    cls: type[ApiError]
    if "签名" in return_msg or "SIGN" in upper:
        cls = SignRejectedError
    elif "参数" in return_msg or "PARAM" in upper or "XML" in upper:
        cls = ParamError
    else:
        cls = ApiError
    return cls(
        f"{endpoint}: WeChat refused the request: {return_msg}",
        code=return_msg,
        detail=_evidence(fields),
    )


def _evidence(fields: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in fields.items() if name != "sign"}


def _exactly_one(**candidates: str | None) -> tuple[str, str]:
    given = [(name, value) for name, value in candidates.items() if value]
    if len(given) != 1:
        raise ValueError(f"give exactly one of {', '.join(candidates)}")
    return given[0]


class WeChatPayV2Client:
    """Async client for WeChat Pay API v2 (``pay/*`` and ``secapi/pay/refund``).

    ``http`` sends ordinary calls; ``secapi_http`` sends ``/secapi/`` calls (refund) and must be
    an ``httpx.AsyncClient`` built with the merchant API certificate as TLS client certificate
    (``cert=("apiclient_cert.pem", "apiclient_key.pem")``). Without it refunds go through
    ``http``: fine for the emulator, but real WeChat rejects a refund without the certificate.
    When ``http`` is omitted the client makes its own and closes it in ``aclose()``.

    >>> client = WeChatPayV2Client(config)                  # doctest: +SKIP
    >>> order = await client.order_query(out_trade_no="A1")  # doctest: +SKIP
    """

    def __init__(
        self,
        config: MerchantConfig,
        *,
        http: httpx.AsyncClient | None = None,
        secapi_http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        nonce_factory: NonceFactory = random_nonce,
        sign_type: SignType = "HMAC-SHA256",
        timeout: float = 10.0,
        max_bill_bytes: int = _DEFAULT_MAX_BILL_BYTES,
    ) -> None:
        if sign_type not in ("MD5", "HMAC-SHA256"):
            raise ValueError(f"sign_type must be MD5 or HMAC-SHA256, not {sign_type!r}")
        self._key = config.require_api_v2_key()  # fail at construction, not at the first call
        self._config = config
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient()
        self._secapi_http = secapi_http if secapi_http is not None else self._http
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._nonce = nonce_factory
        self.sign_type: SignType = sign_type
        self._timeout = httpx.Timeout(timeout)
        self._max_bill_bytes = max_bill_bytes

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def unified_order(self, request: UnifiedOrderRequest) -> UnifiedOrderResult:
        """Create (or re-fetch, with identical parameters) a prepay order: ``pay/unifiedorder``."""
        fields = await self._call("/pay/unifiedorder", request.to_fields())
        return UnifiedOrderResult.from_fields(fields)

    async def order_query(
        self, *, out_trade_no: str | None = None, transaction_id: str | None = None
    ) -> V2Order:
        """Query one order by exactly one identifier; ``OrderNotFoundError`` when unknown."""
        name, value = _exactly_one(out_trade_no=out_trade_no, transaction_id=transaction_id)
        fields = await self._call("/pay/orderquery", {name: value})
        if fields.get(name) != value:
            raise MalformedMessageError(f"/pay/orderquery: answer is not about the {name} asked")
        return V2Order.from_fields(fields)

    async def close_order(self, out_trade_no: str) -> None:
        """Close an unpaid order (not within 5 minutes of creation, spec 4.4).

        ``OrderPaidError`` when it is paid meanwhile: query it and treat it as paid.
        """
        await self._call("/pay/closeorder", {"out_trade_no": out_trade_no})

    async def refund(self, request: V2RefundRequest) -> V2RefundResult:
        """Submit a refund (``/secapi/pay/refund``, TLS client certificate).

        On any ``OutcomeUnknownError`` retry with the same ``out_refund_no`` or query it.
        """
        fields = await self._call("/secapi/pay/refund", request.to_fields(), secure=True)
        result = V2RefundResult.from_fields(fields)
        if result.out_refund_no != request.out_refund_no:
            raise MalformedMessageError("/secapi/pay/refund: answer is about another refund")
        return result

    async def refund_query(
        self,
        *,
        out_refund_no: str | None = None,
        out_trade_no: str | None = None,
        transaction_id: str | None = None,
        refund_id: str | None = None,
    ) -> V2RefundQueryResult:
        """Query refunds by exactly one identifier; ``ResourceNotFoundError`` when none exist."""
        name, value = _exactly_one(
            out_refund_no=out_refund_no,
            out_trade_no=out_trade_no,
            transaction_id=transaction_id,
            refund_id=refund_id,
        )
        fields = await self._call("/pay/refundquery", {name: value})
        return V2RefundQueryResult.from_fields(fields)

    async def download_bill(
        self, bill_date: date, bill_type: BillType = "ALL", tar_type: Literal["GZIP"] | None = None
    ) -> bytes:
        """Download one day's trade bill and return the bill text as bytes (gunzipped if GZIP).

        Raises ``ResourceNotFoundError`` for ``No Bill Exist``, ``ApiError`` for any other
        refusal (``code`` = WeChat's ``error_code`` or ``return_msg``), ``MalformedMessageError``
        for a body that is neither a bill nor a refusal, or a bad or oversized gzip stream.
        """
        endpoint = "/pay/downloadbill"
        fields = {"bill_date": bill_date.strftime("%Y%m%d"), "bill_type": bill_type}
        if tar_type is not None:
            fields["tar_type"] = tar_type
        response = await self._post(self._http, endpoint, fields)
        if response.status_code != 200:
            cls = ServerError if response.status_code >= 500 else ApiError
            raise cls(f"{endpoint}: HTTP {response.status_code}", status_code=response.status_code)
        body = response.content
        if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"<xml", b"<?xml")):
            raise _bill_refusal(endpoint, body)
        if tar_type == "GZIP":
            return _gunzip(body, self._max_bill_bytes)
        return body

    def request_payment_params(self, prepay_id: str) -> RequestPaymentParams:
        """Signed ``wx.requestPayment`` arguments for a v2 ``prepay_id`` (spec 3.2).

        Signs ``appId``, ``nonceStr``, ``package``, ``signType``, ``timeStamp`` (Unix seconds as
        a string) with this client's ``sign_type`` -- the one the order was created with.
        """
        if not prepay_id:
            raise ValueError("prepay_id is empty")
        params = {
            "appId": self._config.appid,
            "timeStamp": str(unix_seconds(self._clock)),
            "nonceStr": self._nonce(),
            "package": f"prepay_id={prepay_id}",
            "signType": self.sign_type,
        }
        return RequestPaymentParams(
            app_id=params["appId"],
            time_stamp=params["timeStamp"],
            nonce_str=params["nonceStr"],
            package=params["package"],
            sign_type=self.sign_type,
            pay_sign=sign(params, self._key, self.sign_type),
        )

    async def _call(
        self, endpoint: str, fields: Mapping[str, str], *, secure: bool = False
    ) -> dict[str, str]:
        http = self._secapi_http if secure else self._http
        response = await self._post(http, endpoint, fields)
        return read_response(
            response.status_code,
            response.content,
            config=self._config,
            sign_type=self.sign_type,
            endpoint=endpoint,
        )

    async def _post(
        self, http: httpx.AsyncClient, endpoint: str, fields: Mapping[str, str]
    ) -> httpx.Response:
        signed = signed_request_fields(
            self._config, fields, nonce=self._nonce(), sign_type=self.sign_type
        )
        request = http.build_request(
            "POST",
            f"{self._config.base_url}{endpoint}",
            content=build_xml(signed),
            headers={"Content-Type": "text/xml; charset=utf-8"},
            timeout=self._timeout,
        )
        return await send(http, request)


def _bill_refusal(endpoint: str, body: bytes) -> WeChatPayError:
    try:
        fields = parse_xml(body)
    except XmlError as exc:
        return MalformedMessageError(f"{endpoint}: refusal is not acceptable XML ({exc.message})")
    if fields.get("return_code") != "FAIL":
        return MalformedMessageError(f"{endpoint}: XML answer without return_code FAIL")
    return_msg = fields.get("return_msg") or "return_code FAIL"
    code = fields.get("error_code") or return_msg
    message = f"{endpoint}: {return_msg}"
    if return_msg.strip().lower() == "no bill exist":
        return ResourceNotFoundError(message, code=code, detail=fields)
    if "SIGN" in return_msg.upper():
        return SignRejectedError(message, code=code, detail=fields)
    return ApiError(message, code=code, detail=fields)


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decompress every gzip member of ``data``, refusing more than ``limit`` output bytes."""
    if not data.startswith(b"\x1f\x8b"):
        raise MalformedMessageError("/pay/downloadbill: GZIP was asked but the body is not gzip")
    out = bytearray()
    remaining = data
    try:
        while remaining:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            out += inflater.decompress(remaining, limit + 1 - len(out))
            if len(out) > limit or inflater.unconsumed_tail:
                raise MalformedMessageError(f"/pay/downloadbill: bill exceeds {limit} bytes")
            if not inflater.eof:
                raise MalformedMessageError("/pay/downloadbill: gzip stream is truncated")
            remaining = inflater.unused_data
    except zlib.error as exc:
        raise MalformedMessageError(f"/pay/downloadbill: gzip stream is corrupt ({exc})") from None
    return bytes(out)
