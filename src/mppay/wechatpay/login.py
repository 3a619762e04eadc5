"""Mini Program login: exchange a ``wx.login`` code for the user's ``openid`` (spec 5).

``GET /sns/jscode2session?appid=..&secret=..&js_code=..&grant_type=authorization_code``.
WeChat puts the AppSecret in the query string, so the request URL is itself a secret: no error
raised here contains it (transport errors are rebuilt from scratch rather than chained to the
httpx exception, which holds the request), and neither does any ``repr``. ``session_key`` stays
out of every ``repr`` and error as well; it must never reach the Mini Program.

One thing this module cannot control: httpx logs every request URL at INFO level on the
``httpx`` logger. Applications must keep that logger at WARNING or above (or filter it), or the
AppSecret lands in their logs.

errcode mapping: 40029 / 41008 -> ``InvalidCodeError``, 45011 -> ``LoginRateLimitedError``,
40226 -> ``CodeBlockedError``, 40125 / 40013 -> ``InvalidCredentialError``, -1 -> ``ServerError``,
any other non-zero -> ``LoginError``. HTTP 5xx -> ``ServerError``; other non-200 -> ``ApiError``;
transport failure -> ``TransportError``; a body that is not JSON with ``openid`` and
``session_key`` -> ``MalformedMessageError``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import httpx

from mppay.wechatpay._http import send
from mppay.wechatpay.errors import (
    ApiError,
    CodeBlockedError,
    InvalidCodeError,
    InvalidCredentialError,
    LoginError,
    LoginRateLimitedError,
    MalformedMessageError,
    ServerError,
    TransportError,
    WeChatPayError,
)

__all__ = ["DEFAULT_LOGIN_BASE_URL", "LoginSession", "MiniProgramLoginClient"]

DEFAULT_LOGIN_BASE_URL = "https://api.weixin.qq.com"
_PATH = "/sns/jscode2session"
_MAX_CODE_LENGTH = 256
_RID = re.compile(r"rid:\s*([0-9A-Za-z-]+)")

_CLASS_BY_ERRCODE: dict[int, type[WeChatPayError]] = {
    -1: ServerError,
    40029: InvalidCodeError,
    41008: InvalidCodeError,  # "missing code"
    45011: LoginRateLimitedError,
    40226: CodeBlockedError,
    40125: InvalidCredentialError,
    40013: InvalidCredentialError,
}


@dataclass(frozen=True)
class LoginSession:
    """What ``jscode2session`` returns. ``session_key`` is left out of ``repr`` on purpose."""

    openid: str
    session_key: str = field(repr=False)
    unionid: str | None = None


class MiniProgramLoginClient:
    """Calls ``auth.code2Session`` for one Mini Program.

    ``http`` is an optional ``httpx.AsyncClient`` (tests pass one on ``httpx.MockTransport``);
    when omitted the client makes its own and closes it in ``aclose()``.
    """

    def __init__(
        self,
        appid: str,
        app_secret: str,
        *,
        base_url: str = DEFAULT_LOGIN_BASE_URL,
        http: httpx.AsyncClient | None = None,
        timeout: float = 5.0,
    ) -> None:
        if not appid or not app_secret:
            raise ValueError("appid and app_secret are required")
        self._appid = appid
        self._secret = app_secret
        self._base_url = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient()
        self._timeout = httpx.Timeout(timeout)

    def __repr__(self) -> str:
        return f"MiniProgramLoginClient(appid={self._appid!r}, base_url={self._base_url!r})"

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

    async def code2session(self, code: str) -> LoginSession:
        """Exchange a single-use ``wx.login`` ``code`` for a ``LoginSession``.

        An empty or absurdly long code is an ``InvalidCodeError`` without calling WeChat.
        Errors carry ``code`` = the errcode as a string, ``request_id`` = WeChat's ``rid``.
        """
        if not code or not code.strip() or len(code) > _MAX_CODE_LENGTH:
            raise InvalidCodeError(f"{_PATH}: the wx.login code is empty or too long")
        request = self._http.build_request(
            "GET",
            f"{self._base_url}{_PATH}",
            params={
                "appid": self._appid,
                "secret": self._secret,
                "js_code": code,
                "grant_type": "authorization_code",
            },
            timeout=self._timeout,
        )
        failure: TransportError | None = None
        try:
            response = await send(self._http, request)
        except TransportError as exc:
            # Built afresh and raised outside this block: the original exception (and through
            # it the request URL with the secret) must not ride along as cause or context.
            failure = TransportError(_scrub(exc.message, self._secret))
        if failure is not None:
            raise failure
        return self._read(response.status_code, response.content)

    def _read(self, status_code: int, body: bytes) -> LoginSession:
        if status_code >= 500:
            raise ServerError(f"{_PATH}: HTTP {status_code}", status_code=status_code)
        if status_code != 200:
            raise ApiError(f"{_PATH}: HTTP {status_code}", status_code=status_code)
        payload = _json_object(body)
        errcode = payload.get("errcode", 0)
        if isinstance(errcode, bool) or not isinstance(errcode, int):
            raise MalformedMessageError(f"{_PATH}: errcode is not an integer")
        if errcode != 0:
            raise self._error(errcode, payload.get("errmsg"))
        openid = payload.get("openid")
        session_key = payload.get("session_key")
        unionid = payload.get("unionid")
        if not isinstance(openid, str) or not openid:
            raise MalformedMessageError(f"{_PATH}: answer has no openid")
        if not isinstance(session_key, str) or not session_key:
            raise MalformedMessageError(f"{_PATH}: answer has no session_key")
        if unionid is not None and not isinstance(unionid, str):
            raise MalformedMessageError(f"{_PATH}: unionid is not a string")
        return LoginSession(openid=openid, session_key=session_key, unionid=unionid or None)

    def _error(self, errcode: int, errmsg: object) -> WeChatPayError:
        text = _scrub(errmsg if isinstance(errmsg, str) else "", self._secret)[:200]
        rid = _RID.search(text)
        cls = _CLASS_BY_ERRCODE.get(errcode, LoginError)
        return cls(
            f"{_PATH}: errcode {errcode}: {text or 'no errmsg'}",
            code=str(errcode),
            request_id=rid.group(1) if rid else None,
            detail={"errcode": errcode, "errmsg": text},
        )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise MalformedMessageError(f"{_PATH}: answer is not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedMessageError(f"{_PATH}: answer is not a JSON object")
    return payload


def _scrub(text: str, secret: str) -> str:
    """``text`` with the secret, plain or URL-encoded, masked."""
    for form in (secret, str(httpx.QueryParams({"s": secret}))[2:]):
        text = text.replace(form, "***")
    return text
