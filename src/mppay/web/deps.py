"""Dependencies, as ``Annotated`` aliases so routes read plainly."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mppay.store.models import UserRow
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import Unauthenticated
from mppay.usecases.login import authenticate

__all__ = ["AdminAuth", "BearerToken", "Ctx", "CurrentUser", "MetricsAuth"]

_bearer = HTTPBearer(auto_error=False, description="token from POST /api/login")
_admin_bearer = HTTPBearer(
    auto_error=False, description="MPPAY_ADMIN_TOKEN", scheme_name="AdminToken"
)
_metrics_bearer = HTTPBearer(
    auto_error=False, description="MPPAY_METRICS_TOKEN", scheme_name="MetricsToken"
)


# Dependencies are ``async def`` even when they never await: FastAPI runs a plain ``def``
# dependency in a worker thread (anyio's thread pool), a thread hop per dependency per request
# (seen in the profile of the hot routes).
async def _context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ServiceContext, Depends(_context)]


async def _token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated(
            "UNAUTHENTICATED", "send Authorization: Bearer <token from POST /api/login>"
        )
    return credentials.credentials


BearerToken = Annotated[str, Depends(_token)]


async def _current_user(ctx: Ctx, token: BearerToken) -> UserRow:
    return await authenticate(ctx, token)


CurrentUser = Annotated[UserRow, Depends(_current_user)]


async def _admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_admin_bearer)],
) -> None:
    expected: str | None = request.app.state.admin_token
    given = credentials.credentials if credentials is not None else ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthenticated(
            "UNAUTHENTICATED", "operations API needs Authorization: Bearer <MPPAY_ADMIN_TOKEN>"
        )


AdminAuth = Depends(_admin)


async def _metrics(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_metrics_bearer)],
) -> None:
    # Without MPPAY_METRICS_TOKEN the scrape stays open (a private network's Prometheus).
    expected: str | None = request.app.state.metrics_token
    if not expected:
        return
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthenticated(
            "UNAUTHENTICATED", "metrics need Authorization: Bearer <MPPAY_METRICS_TOKEN>"
        )


MetricsAuth = Depends(_metrics)
