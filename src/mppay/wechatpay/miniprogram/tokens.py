"""The stable access_token (``POST /cgi-bin/stable_token``), cached and shared.

Why the *stable* token: ``/cgi-bin/token`` hands out a new token on every call and voids the
previous one, so two instances of a service keep invalidating each other (errcode 40001).
``stable_token`` in normal mode (``force_refresh`` false) returns the current token to every
caller until it nears its end; WeChat renews it five minutes early and keeps the old one valid
through the overlap.

``StableTokenSource`` keeps one token per appid until ``margin`` seconds before ``expires_in``
runs out (the clock is injected), lets only one fetch run at a time (concurrent callers wait
for it and share its answer), and, told that a token was rejected (40001/42001), fetches again
only if nobody has replaced that token yet. It never uses ``force_refresh``: that mode is
limited to 20 calls a day and voids the token of every other instance.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from mppay.wechatpay._http import send
from mppay.wechatpay.clock import Clock, SystemClock
from mppay.wechatpay.errors import MalformedMessageError, TransportError

from ._answers import read_answer

__all__ = ["DEFAULT_API_BASE_URL", "AccessToken", "StableTokenSource"]

DEFAULT_API_BASE_URL = "https://api.weixin.qq.com"
_PATH = "/cgi-bin/stable_token"


@dataclass(frozen=True)
class AccessToken:
    """A token and the moment we stop using it (already ``margin`` before WeChat's expiry)."""

    value: str
    use_until: datetime

    def __repr__(self) -> str:
        return f"AccessToken(value='***', use_until={self.use_until.isoformat()})"


class StableTokenSource:
    """Hands out a valid access_token for one Mini Program; see the module docstring.

    ``http`` is the caller's ``httpx.AsyncClient`` (not closed here). ``margin`` is how long
    before ``expires_in`` ends the token is replaced (at most half of ``expires_in``).
    """

    def __init__(
        self,
        appid: str,
        app_secret: str,
        *,
        http: httpx.AsyncClient,
        base_url: str = DEFAULT_API_BASE_URL,
        clock: Clock | None = None,
        timeout: float = 10.0,
        margin: timedelta = timedelta(minutes=5),
    ) -> None:
        if not appid or not app_secret:
            raise ValueError("appid and app_secret are required")
        self._appid = appid
        self._secret = app_secret
        self._http = http
        self._url = f"{base_url.rstrip('/')}{_PATH}"
        self._clock = clock or SystemClock()
        self._timeout = httpx.Timeout(timeout)
        self._margin = margin
        self._current: AccessToken | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0
        """How many times WeChat was asked (observability and tests)."""

    def __repr__(self) -> str:
        return f"StableTokenSource(appid={self._appid!r}, url={self._url!r})"

    async def token(self) -> str:
        """A token that is valid now, fetched only when the cached one is missing or due."""
        current = self._current
        if current is not None and self._clock.now() < current.use_until:
            return current.value
        async with self._lock:
            current = self._current
            if current is not None and self._clock.now() < current.use_until:
                return current.value
            return (await self._fetch()).value

    async def replace(self, rejected: str) -> str:
        """After WeChat rejected ``rejected`` (40001/42001): a token other callers may share.

        If another caller already replaced it, that replacement is returned without a call.
        """
        async with self._lock:
            current = self._current
            if (
                current is not None
                and current.value != rejected
                and self._clock.now() < current.use_until
            ):
                return current.value
            self._current = None
            return (await self._fetch()).value

    async def _fetch(self) -> AccessToken:
        self.fetches += 1
        request = self._http.build_request(
            "POST",
            self._url,
            json={
                "grant_type": "client_credential",
                "appid": self._appid,
                "secret": self._secret,
                "force_refresh": False,
            },
            timeout=self._timeout,
        )
        failure: TransportError | None = None
        try:
            response = await send(self._http, request)
        except TransportError as exc:
            # Rebuilt outside the handler: the httpx exception holds the request (its body
            # carries the AppSecret) and must not ride along as cause or context.
            failure = TransportError(exc.message)
        if failure is not None:
            raise failure
        payload = read_answer(_PATH, response.status_code, response.content)
        value = payload.get("access_token")
        expires_in = payload.get("expires_in")
        if not isinstance(value, str) or not value:
            raise MalformedMessageError(f"{_PATH}: answer has no access_token")
        if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
            raise MalformedMessageError(f"{_PATH}: expires_in is not a positive integer")
        lifetime = timedelta(seconds=expires_in)
        use_for = lifetime - min(self._margin, lifetime / 2)
        token = AccessToken(value=value, use_until=self._clock.now() + use_for)
        self._current = token
        return token
