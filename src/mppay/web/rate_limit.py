"""A per-client-IP token bucket in front of ``POST /api/login`` (429 ``RATE_LIMITED``).

Each login is a paid call to WeChat's ``jscode2session`` (with its own quota per Mini Program),
so one address may not make more than ``burst`` logins at once and ``rate_per_minute`` on
average. The buckets live in this process: with several instances behind a balancer each one
counts on its own, which still bounds a single source.

The client is the socket peer (``request.client.host``). Behind a reverse proxy that is the
proxy, unless uvicorn runs with ``--proxy-headers --forwarded-allow-ips=<proxy>`` so that it
takes the address from ``X-Forwarded-For``; trust only your own proxy there, or any client
picks its own bucket.

Memory is bounded: a bucket that has refilled to ``burst`` is the same as no bucket and is
dropped, and beyond ``max_clients`` the least recently seen bucket goes first (which at worst
gives that address a fresh burst).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from mppay.web.errors import error_response

__all__ = ["LoginRateLimit", "LoginRateLimited", "TokenBuckets", "install_login_rate_limit"]

DEFAULT_MAX_CLIENTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token buckets by key: ``burst`` capacity, refilled at ``rate_per_minute``.

    ``take(key)`` spends one token and returns 0.0, or returns how many seconds until a token
    is there (and spends nothing). ``clock`` is monotonic seconds (injected in tests).
    """

    def __init__(
        self,
        *,
        rate_per_minute: float,
        burst: int,
        max_clients: int = DEFAULT_MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_minute <= 0 or burst < 1 or max_clients < 1:
            raise ValueError("rate_per_minute > 0, burst >= 1 and max_clients >= 1 are required")
        self._per_second = rate_per_minute / 60
        self._burst = float(burst)
        self._max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        now = self._clock()
        bucket = self._buckets.pop(key, None)
        tokens = self._burst if bucket is None else self._refilled(bucket, now)
        if tokens >= 1:
            tokens -= 1
            wait = 0.0
        else:
            wait = (1 - tokens) / self._per_second
        self._buckets[key] = _Bucket(tokens, now)  # most recently seen goes last
        self._evict(now)
        return wait

    def _refilled(self, bucket: _Bucket, now: float) -> float:
        return min(self._burst, bucket.tokens + (now - bucket.updated) * self._per_second)

    def _evict(self, now: float) -> None:
        while self._buckets:
            key, oldest = next(iter(self._buckets.items()))
            if len(self._buckets) > self._max_clients or self._refilled(oldest, now) >= self._burst:
                del self._buckets[key]
            else:
                break


class LoginRateLimited(Exception):
    """Raised by the login route's dependency; answered 429 with ``Retry-After`` seconds."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many logins; retry in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


# async on purpose: FastAPI would run a plain function in a thread, and the buckets are not
# thread-safe; on the event loop every take() runs whole.
async def _check(request: Request) -> None:
    buckets: TokenBuckets = request.app.state.login_buckets
    client = request.client.host if request.client else "unknown"
    wait = buckets.take(client)
    if wait > 0:
        raise LoginRateLimited(max(1, math.ceil(wait)))


# Put on the login route: ``dependencies=[LoginRateLimit]`` runs before the body is used.
LoginRateLimit = Depends(_check)


def install_login_rate_limit(app: FastAPI, buckets: TokenBuckets) -> None:
    app.state.login_buckets = buckets

    @app.exception_handler(LoginRateLimited)
    async def _limited(request: Request, exc: LoginRateLimited) -> JSONResponse:
        return error_response(
            429,
            "RATE_LIMITED",
            f"too many logins from this address; retry in {exc.retry_after_seconds} s",
            headers={"Retry-After": str(exc.retry_after_seconds)},
        )
