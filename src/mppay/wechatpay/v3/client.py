"""``WeChatPayV3Client``: the one place that talks to WeChat Pay API v3.

Every call is signed (``WeChatPayV3Auth``), sent through ``_http.send`` (transport failures
become ``TransportError``), and answered as follows:

- 2xx (but 202): the signature headers are validated over the raw body *before* anything is
  parsed; a missing or bad signature raises ``UntrustedResponseError`` (outcome unknown) with
  the ``VerificationError`` as ``__cause__``. A signed body that is not the expected JSON
  raises ``MalformedMessageError``: WeChat did answer 2xx, so the caller must treat the
  outcome as unknown (query, or retry with the same identifiers), never as refused.
- 202: accepted but not processed yet -> ``ServerError`` (outcome unknown; retry the same call).
- anything else: ``error_for(code, message, ...)`` from ``{"code","message","detail"}`` (or an
  excerpt of a non-JSON body); 5xx without a definite business code -> ``ServerError``.

Error responses are not validated: WeChat may not sign them (spec §8.3).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import date
from types import TracebackType
from typing import Literal
from urllib.parse import quote

import httpx

from .._http import send
from ..clock import Clock, NonceFactory, SystemClock, random_nonce
from ..config import PUBLIC_KEY_ID_PREFIX, MerchantConfig
from ..errors import MalformedMessageError, UntrustedResponseError, VerificationError
from ..request_payment import RequestPaymentParams
from ._responses import parse_model, raise_for_status, stream_body
from .auth import WeChatPayV3Auth
from .bills import BillDecoder
from .certificates import PlatformCertificate, PlatformCertificateStore, decrypt_certificate_list
from .models import (
    CertificateListResponse,
    JsapiPrepayRequest,
    PrepayResponse,
    Refund,
    RefundRequest,
    TradeBill,
    Transaction,
    wire_json,
)
from .notifications import NotificationParser, RefundEvent, TransactionEvent
from .signing import RequestSigner
from .verification import (
    CertificateVerifier,
    CombinedVerifier,
    PublicKeyVerifier,
    ResponseValidator,
    Verifier,
)

__all__ = ["DEFAULT_TIMEOUT", "WeChatPayV3Client"]

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class WeChatPayV3Client:
    """Typed async client for the API v3 calls a Mini Program merchant needs.

    ``http`` may be supplied (tests pass one on ``httpx.MockTransport``); it is then not
    closed by ``aclose`` and must not carry its own auth. The client it creates otherwise
    ignores proxy/TLS environment variables (the library reads no environment).

    Without ``verifier`` one is built from ``config``: the WeChat Pay public key when
    configured, and platform certificates (``config.platform_certificates`` plus downloads
    through this client when ``api_v3_key`` is set) in ``certificate_store``, chosen per
    message by ``Wechatpay-Serial``. Call ``certificate_store.refresh_if_due()`` from a
    periodic job to pick up rotated certificates before they are needed.

    Raises ``ConfigurationError`` when the merchant signing key is not configured.
    """

    def __init__(
        self,
        config: MerchantConfig,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        nonce_factory: NonceFactory = random_nonce,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        verifier: Verifier | None = None,
    ) -> None:
        serial_no, private_key = config.require_signing_key()
        self.config = config
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._timeout = timeout
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(trust_env=False)
        self._signer = RequestSigner(
            config.mchid, serial_no, private_key, clock=self._clock, nonce_factory=nonce_factory
        )
        self._public_key_verifier = (
            PublicKeyVerifier(config.wechatpay_public_key_id, config.wechatpay_public_key)
            if config.wechatpay_public_key is not None and config.wechatpay_public_key_id
            else None
        )
        configured = [PlatformCertificate.from_certificate(c) for c in config.platform_certificates]
        # What we hold when a custom verifier is supplied (then there is no downloading store).
        self._configured = PlatformCertificateStore(self._clock, certificates=configured)
        self.certificate_store: PlatformCertificateStore | None = None
        if verifier is None:
            self.certificate_store = PlatformCertificateStore(
                self._clock,
                downloader=self.download_certificates if config.api_v3_key else None,
                certificates=configured,
            )
            verifier = CombinedVerifier(
                public_key=self._public_key_verifier,
                certificates=CertificateVerifier(self.certificate_store),
            )
        self.verifier = verifier
        self.validator = ResponseValidator(verifier, self._clock)
        self._auth = WeChatPayV3Auth(self._signer, self._wechatpay_serial)

    # --- orders -----------------------------------------------------------------------------

    async def prepay_jsapi(self, request: JsapiPrepayRequest) -> PrepayResponse:
        """``POST /v3/pay/transactions/jsapi`` (Mini Program order); ``appid``/``mchid`` added."""
        body = wire_json(
            {"appid": self.config.appid, "mchid": self.config.mchid, **request.to_wire()}
        )
        response = await self._execute("POST", "/v3/pay/transactions/jsapi", body=body)
        return parse_model(PrepayResponse, response)

    async def query_order_by_out_trade_no(self, out_trade_no: str) -> Transaction:
        """``GET /v3/pay/transactions/out-trade-no/{no}?mchid=``; unknown -> ``OrderNotFoundError``."""
        path = f"/v3/pay/transactions/out-trade-no/{_segment(out_trade_no)}"
        response = await self._execute("GET", path, params={"mchid": self.config.mchid})
        return parse_model(Transaction, response)

    async def query_order_by_transaction_id(self, transaction_id: str) -> Transaction:
        """``GET /v3/pay/transactions/id/{transaction_id}?mchid=`` (paid orders only)."""
        path = f"/v3/pay/transactions/id/{_segment(transaction_id)}"
        response = await self._execute("GET", path, params={"mchid": self.config.mchid})
        return parse_model(Transaction, response)

    async def close_order(self, out_trade_no: str) -> None:
        """``POST .../out-trade-no/{no}/close``; returns on a validated 2xx (WeChat sends 204)."""
        path = f"/v3/pay/transactions/out-trade-no/{_segment(out_trade_no)}/close"
        await self._execute("POST", path, body=wire_json({"mchid": self.config.mchid}))

    def request_payment_params(self, prepay_id: str) -> RequestPaymentParams:
        """Signed ``wx.requestPayment`` parameters for a v3 ``prepay_id`` (``signType`` RSA)."""
        return self._signer.request_payment(self.config.appid, prepay_id)

    # --- refunds ----------------------------------------------------------------------------

    async def create_refund(self, request: RefundRequest) -> Refund:
        """``POST /v3/refund/domestic/refunds``; usually answers ``status`` ``PROCESSING``."""
        response = await self._execute(
            "POST", "/v3/refund/domestic/refunds", body=wire_json(request.to_wire())
        )
        return parse_model(Refund, response)

    async def query_refund(self, out_refund_no: str) -> Refund:
        """``GET /v3/refund/domestic/refunds/{no}``; unknown -> ``ResourceNotFoundError``."""
        path = f"/v3/refund/domestic/refunds/{_segment(out_refund_no)}"
        return parse_model(Refund, await self._execute("GET", path))

    # --- bills ------------------------------------------------------------------------------

    async def trade_bill(
        self,
        bill_date: date,
        bill_type: str = "ALL",
        tar_type: Literal["GZIP"] | None = "GZIP",
    ) -> TradeBill:
        """``GET /v3/bill/tradebill``: where to download the bill of ``bill_date`` and its SHA-1."""
        params = {"bill_date": bill_date.isoformat(), "bill_type": bill_type}
        if tar_type is not None:
            params["tar_type"] = tar_type
        return parse_model(
            TradeBill, await self._execute("GET", "/v3/bill/tradebill", params=params)
        )

    async def download_bill(self, bill: TradeBill) -> bytes:
        """The whole uncompressed bill file, checked against ``bill.hash_value``.

        ``download_url`` is fetched with a signed GET (the file itself is not signed) only when
        its scheme, host and port are those of ``config.base_url``; otherwise
        ``MalformedMessageError`` is raised and nothing is sent. Raises ``BillDigestError`` (outcome unknown: download again) on a digest mismatch or
        corrupt gzip, plus the usual ``TransportError`` / ``ApiError`` family.
        """
        decoder = BillDecoder(bill)
        request = self._bill_request(bill)
        response = await send(self._http, request)
        raise_for_status(response, "GET bill file")
        return b"".join([*decoder.feed(response.content), *decoder.finish()])

    async def iter_bill(self, bill: TradeBill) -> AsyncIterator[bytes]:
        """Stream the uncompressed bill in bounded memory.

        The digest can only be checked at the end: the final iteration raises
        ``BillDigestError`` if the file was not genuine, so consumers must not commit anything
        they derived from the chunks before the iterator is exhausted.
        """
        decoder = BillDecoder(bill)
        request = self._bill_request(bill)
        async for chunk in stream_body(self._http, request):
            for piece in decoder.feed(chunk):
                yield piece
        for piece in decoder.finish():
            yield piece

    # --- certificates and notifications -----------------------------------------------------

    async def download_certificates(self) -> list[PlatformCertificate]:
        """``GET /v3/certificates``: decrypt, load and check every platform certificate.

        The response is validated with the certificates already held (or the public key when
        WeChat signed with it). With none held yet, it is validated with the certificates it
        contains, after AES-GCM with the APIv3 key has authenticated them (wechatpay-go's
        bootstrap). Raises ``ConfigurationError`` without ``api_v3_key``, ``DecryptionError``,
        ``MalformedMessageError`` and the usual errors of a call.
        """
        api_v3_key = self.config.require_api_v3_key()
        response = await self._execute("GET", "/v3/certificates", validate=False)
        held = self._held_certificates()
        signed_with_public_key = response.headers.get("Wechatpay-Serial", "").startswith(
            PUBLIC_KEY_ID_PREFIX
        )
        if held or signed_with_public_key:
            await self._validate(response, "GET /v3/certificates", self._pinned_validator(held))
            listing = parse_model(CertificateListResponse, response)
            return decrypt_certificate_list(listing, api_v3_key)
        listing = parse_model(CertificateListResponse, response)
        certificates = decrypt_certificate_list(listing, api_v3_key)
        await self._validate(response, "GET /v3/certificates", self._pinned_validator(certificates))
        return certificates

    async def parse_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> TransactionEvent | RefundEvent:
        """Validate, decrypt and parse a notification, then check it is for this merchant.

        Raises like ``NotificationParser.parse``, and ``MalformedMessageError`` when the
        resource names another ``mchid`` (or, for payments, another ``appid``).
        """
        parser = NotificationParser(self.config.require_api_v3_key(), self.validator)
        event = await parser.parse(headers, body)
        resource = event.resource
        if resource.mchid != self.config.mchid or (
            isinstance(resource, Transaction) and resource.appid != self.config.appid
        ):
            raise MalformedMessageError(
                f"notification {event.id[:64]!r} is for another merchant or app "
                f"(mchid {resource.mchid[:32]!r})"
            )
        return event

    # --- lifecycle --------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> WeChatPayV3Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- internals --------------------------------------------------------------------------

    def _wechatpay_serial(self) -> str | None:
        if self.config.wechatpay_public_key_id is not None:
            return self.config.wechatpay_public_key_id
        return self._held_store().newest_serial()

    def _held_certificates(self) -> list[PlatformCertificate]:
        return self._held_store().valid_certificates()

    def _held_store(self) -> PlatformCertificateStore:
        return self.certificate_store if self.certificate_store is not None else self._configured

    def _pinned_validator(self, certificates: list[PlatformCertificate]) -> ResponseValidator:
        # A store without a downloader: validating the certificate download must never start
        # another download (that would wait on the lock the refresh in progress holds).
        pinned = PlatformCertificateStore(self._clock, certificates=certificates)
        verifier = CombinedVerifier(
            public_key=self._public_key_verifier, certificates=CertificateVerifier(pinned)
        )
        return ResponseValidator(verifier, self._clock)

    def _bill_request(self, bill: TradeBill) -> httpx.Request:
        # The GET carries our Authorization header; a download_url pointing anywhere but the
        # WeChat Pay host we were configured with must not receive it.
        url = httpx.URL(bill.download_url)
        if _origin(url) != _origin(httpx.URL(self.config.base_url)):
            raise MalformedMessageError(
                f"bill download_url host {url.scheme}://{url.netloc.decode('ascii', 'replace')[:100]}"
                f" is not the configured WeChat Pay base {self.config.base_url!r}; not fetched"
            )
        request = self._build("GET", bill.download_url)
        request.headers["Accept"] = "*/*"
        return request

    def _build(
        self, method: str, url: str, *, params: Mapping[str, str] | None = None, body: bytes = b""
    ) -> httpx.Request:
        request = self._http.build_request(
            method,
            url,
            params=params,
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=self._timeout,
        )
        self._auth.sign_request(request)
        return request

    async def _execute(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes = b"",
        validate: bool = True,
    ) -> httpx.Response:
        label = f"{method} {path}"
        request = self._build(method, self.config.base_url + path, params=params, body=body)
        response = await send(self._http, request)
        raise_for_status(response, label)
        if validate:
            await self._validate(response, label, self.validator)
        return response

    async def _validate(
        self, response: httpx.Response, label: str, validator: ResponseValidator
    ) -> None:
        try:
            await validator.validate(response.headers, response.content)
        except VerificationError as exc:
            raise UntrustedResponseError(
                f"{label}: response failed verification ({type(exc).__name__}: {exc.message}); "
                "its content is discarded and the outcome is unknown",
                status_code=response.status_code,
                request_id=response.headers.get("Request-ID"),
            ) from exc


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and effective port (``https://h`` and ``https://h:443`` are one origin)."""
    default = {"https": 443, "http": 80}.get(url.scheme)
    return url.scheme, url.host.lower(), url.port if url.port is not None else default


def _segment(value: str) -> str:
    if not value:
        raise ValueError("a path identifier must not be empty")
    return quote(value, safe="")
