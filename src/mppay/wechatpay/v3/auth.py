"""``WeChatPayV3Auth``: signs every outgoing API v3 request as an ``httpx.Auth`` flow.

Usable on its own with any ``httpx`` client::

    auth = WeChatPayV3Auth(signer, wechatpay_serial=lambda: "PUB_KEY_ID_0114...")
    async with httpx.AsyncClient(auth=auth) as http:
        await http.get("https://api.mch.weixin.qq.com/v3/certificates")

``WeChatPayV3Client`` calls ``sign_request`` itself, so a caller-supplied ``httpx.AsyncClient``
needs no auth of its own (and must not carry one that rewrites ``Authorization``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import httpx

from .signing import RequestSigner

__all__ = ["LIBRARY_VERSION", "USER_AGENT", "WeChatPayV3Auth"]

# Kept here rather than read from package metadata: the library must not import mppay.
LIBRARY_VERSION = "0.1.0"
USER_AGENT = f"mppay/{LIBRARY_VERSION} (python)"

WeChatPaySerialSource = Callable[[], str | None]
"""Returns the serial (or ``PUB_KEY_ID_...``) of the WeChat-side key we can verify, if any."""


class WeChatPayV3Auth(httpx.Auth):
    """Adds ``Authorization``, ``Wechatpay-Serial``, ``Accept`` and ``User-Agent`` to a request.

    The signature covers the method, the path and query exactly as they go on the wire
    (``request.url.raw_path``) and the exact body bytes, so the body is read first
    (``requires_request_body``). ``wechatpay_serial`` is asked on every request because the
    newest platform certificate can change between requests; when it returns ``None`` the
    header is omitted.
    """

    requires_request_body = True

    def __init__(
        self, signer: RequestSigner, wechatpay_serial: WeChatPaySerialSource | None = None
    ) -> None:
        self._signer = signer
        self._wechatpay_serial = wechatpay_serial

    def sign_request(self, request: httpx.Request) -> None:
        """Sign ``request`` in place. Its body must already be in memory (bytes content).

        Raises ``ConfigurationError`` when the nonce factory yields an unusable nonce.
        """
        canonical_url = request.url.raw_path.decode("ascii")
        request.headers["Authorization"] = self._signer.authorization(
            request.method, canonical_url, request.content
        )
        request.headers["Accept"] = "application/json"
        request.headers["User-Agent"] = USER_AGENT
        serial = self._wechatpay_serial() if self._wechatpay_serial is not None else None
        if serial:
            request.headers["Wechatpay-Serial"] = serial
        elif "Wechatpay-Serial" in request.headers:
            del request.headers["Wechatpay-Serial"]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign_request(request)
        yield request
