"""The one place that sends: turns transport failures into ``TransportError``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from .errors import TransportError

__all__ = ["iter_body", "open_stream", "read_body", "send"]


def _unknown(request: httpx.Request, exc: Exception, *, reading: bool = False) -> TransportError:
    label = f"{request.method} {request.url.path}"
    what = "timed out" if isinstance(exc, httpx.TimeoutException) else type(exc).__name__
    where = " reading the body" if reading else ""
    return TransportError(f"{label}: {what}{where} ({type(exc).__name__}); outcome unknown")


async def send(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """Send ``request`` and read the whole body.

    Raises ``TransportError`` (outcome unknown) on timeouts, refused or reset connections and
    protocol failures: the request may have reached WeChat, so callers must not treat it as
    a refusal. Any request signing is the client's ``auth`` (an ``httpx.Auth`` flow).
    """
    try:
        response = await client.send(request)
        await response.aread()
    except httpx.TransportError as exc:  # includes every httpx.TimeoutException
        raise _unknown(request, exc) from exc
    return response


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, request: httpx.Request
) -> AsyncIterator[httpx.Response]:
    """Like ``send`` but the body is left unread (large downloads); closed on exit."""
    try:
        response = await client.send(request, stream=True)
    except httpx.TransportError as exc:
        raise _unknown(request, exc) from exc
    try:
        yield response
    finally:
        await response.aclose()


async def iter_body(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body of a streamed response in chunks; a failure mid-body is a ``TransportError``."""
    try:
        async for chunk in response.aiter_bytes():
            yield chunk
    except httpx.TransportError as exc:
        raise _unknown(response.request, exc, reading=True) from exc


async def read_body(response: httpx.Response) -> bytes:
    """Read the rest of a streamed response (e.g. an error body), mapping transport failures."""
    try:
        return await response.aread()
    except httpx.TransportError as exc:
        raise _unknown(response.request, exc, reading=True) from exc
