"""The one table from errors to HTTP answers: ``{"code", "message", "request_id"}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mppay.usecases import errors as uc
from mppay.usecases.closing import CloseTooEarly
from mppay.usecases.notifications import Outcome
from mppay.usecases.ports import NackMessage, NotifyReply, PaymentGateway
from mppay.web.request_context import current_request_id

__all__ = [
    "NOTIFY_ANSWERS",
    "STATUS_BY_ERROR",
    "error_response",
    "install_error_handlers",
    "notify_reply",
]

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[uc.UseCaseError], int] = {
    uc.InvalidInput: 422,
    uc.Unauthenticated: 401,
    uc.Forbidden: 403,
    uc.NotFound: 404,
    uc.Conflict: 409,
    uc.UpstreamRefused: 502,
    uc.UpstreamUnavailable: 503,
}

# What WeChat is told about a notification. None: acknowledged with the protocol's success
# answer (v3: 204, no body; v2: 200 with SUCCESS XML), only ever after the commit. A refusal
# is a fixed message per outcome (``ports.NackMessage``), and WeChat sends the notification again.
NOTIFY_ANSWERS: dict[Outcome, tuple[int, NackMessage] | None] = {
    Outcome.APPLIED: None,
    Outcome.DUPLICATE: None,
    # Recorded and flagged for a human; WeChat repeating it would not help.
    Outcome.MISMATCH_FLAGGED: None,
    Outcome.REJECTED_MALFORMED: (400, "malformed"),
    Outcome.REJECTED_SIGNATURE: (401, "signature invalid"),
    Outcome.UNKNOWN_ORDER: (404, "unknown order"),
    Outcome.UNKNOWN_REFUND: (404, "unknown refund"),
    Outcome.OUR_FAILURE: (500, "internal error"),
}


def notify_reply(gateway: PaymentGateway, outcome: Outcome) -> NotifyReply:
    """The answer to a notification: the table above, encoded by the gateway (JSON or XML)."""
    refusal = NOTIFY_ANSWERS[outcome]
    return gateway.ack() if refusal is None else gateway.nack(*refusal)


_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    details: list[dict[str, object]] | None = None,
    extra: dict[str, object] | None = None,
) -> JSONResponse:
    body: dict[str, object] = {"code": code, "message": message, "request_id": current_request_id()}
    if details:
        body["details"] = details
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers)


def _status_for(exc: uc.UseCaseError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(uc.UseCaseError)
    async def _use_case(request: Request, exc: uc.UseCaseError) -> JSONResponse:
        status = _status_for(exc)
        log.info("%s %s -> %s %s", request.method, request.url.path, status, exc.code)
        headers = {"Retry-After": "5"} if status == 503 else None
        extra: dict[str, object] | None = None
        if isinstance(exc, CloseTooEarly):
            headers = {"Retry-After": str(exc.retry_after_seconds)}
            extra = {"retry_at": exc.retry_at.isoformat()}
        return error_response(status, exc.code, exc.message, headers=headers, extra=extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {
                "loc": list(err.get("loc", ())),
                "msg": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"]) if first["loc"] else "request"
        return error_response(422, "INVALID_REQUEST", f"{where}: {first['msg']}", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
        return error_response(
            exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {})
        )

    # Anything else is answered by ``InternalErrorMiddleware`` (500 INTERNAL_ERROR), not by a
    # handler here: Starlette runs an ``Exception`` handler outside the request-id middleware.
