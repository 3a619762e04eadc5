"""The one place that sends: turns transport failures into ``TransportError``."""

from __future__ import annotations

import httpx

from .errors import TransportError

__all__ = ["send"]


async def send(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """Send ``request`` and read the whole body.

    Raises ``TransportError`` (outcome unknown) on timeouts, refused or reset connections and
    protocol failures: the request may have reached WeChat, so callers must not treat it as
    a refusal. Any request signing is the client's ``auth`` (an ``httpx.Auth`` flow).
    """
    try:
        response = await client.send(request)
        await response.aread()
    except httpx.TimeoutException as exc:
        raise TransportError(
            f"{request.method} {request.url.path}: timed out ({type(exc).__name__}); outcome unknown"
        ) from exc
    except httpx.TransportError as exc:
        raise TransportError(
            f"{request.method} {request.url.path}: {type(exc).__name__}; outcome unknown"
        ) from exc
    return response
