"""Turning API v3 HTTP responses into results or errors; shared by the client's calls.

Kept apart from ``client.py`` so each module stays one job: this one knows status codes, error
bodies and streaming, the client knows the endpoints.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from .._http import iter_body, open_stream, read_body
from ..errors import MalformedMessageError, ServerError, error_for
from .models import describe_validation_error

__all__ = ["parse_model", "raise_for_status", "stream_body"]

_ModelT = TypeVar("_ModelT", bound=BaseModel)


def parse_model(model: type[_ModelT], response: httpx.Response) -> _ModelT:
    """Parse an already validated 2xx body into ``model``.

    Raises ``MalformedMessageError`` (with status and request id) when it does not fit; the
    message says the outcome is unknown, because WeChat did answer with success.
    """
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise MalformedMessageError(
            f"{model.__name__} response body is not of the expected shape "
            f"({describe_validation_error(exc)}); WeChat answered 2xx, so treat the outcome "
            "as unknown",
            status_code=response.status_code,
            request_id=response.headers.get("Request-ID"),
        ) from exc


def raise_for_status(response: httpx.Response, label: str) -> None:
    """Return for a 2xx other than 202; raise the error that names anything else.

    202 -> ``ServerError`` (accepted, not processed: outcome unknown). Other statuses ->
    ``error_for(code, message, status_code=, request_id=, detail=)`` from WeChat's
    ``{"code","message","detail"}``, or with an excerpt of a body that is not such JSON.
    """
    status = response.status_code
    request_id = response.headers.get("Request-ID")
    if status == 202:
        raise ServerError(
            f"{label}: accepted but not processed yet (HTTP 202); retry with the same parameters",
            status_code=status,
            request_id=request_id,
        )
    if 200 <= status < 300:
        return
    code: str | None = None
    detail: object = None
    message = ""
    try:
        data = json.loads(response.content)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("code"), str):
        code = data["code"]
        message = str(data.get("message") or "")
        detail = data.get("detail")
    if not message:
        text = " ".join(response.content.decode("utf-8", errors="replace").split())
        message = f"{label}: HTTP {status}" + (f": {text[:200]}" if text else "")
    raise error_for(code, message, status_code=status, request_id=request_id, detail=detail)


async def stream_body(client: httpx.AsyncClient, request: httpx.Request) -> AsyncIterator[bytes]:
    """Yield a 2xx body in chunks, in bounded memory (bill downloads).

    Transport failures before or during the body are ``TransportError`` (``_http``); a non-2xx
    answer raises like ``raise_for_status``.
    """
    async with open_stream(client, request) as response:
        if not 200 <= response.status_code < 300 or response.status_code == 202:
            await read_body(response)
            raise_for_status(response, f"{request.method} {request.url.path}")
        async for chunk in iter_body(response):
            yield chunk
