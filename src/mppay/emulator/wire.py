"""Small HTTP helpers shared by the v3, v2, login and sandbox handlers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .errors import MAX_BODY_BYTES, BodyTooLarge
from .messages import dumps

__all__ = ["base_url", "canonical_urls", "json_response", "read_body", "route_path"]


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, read once; BodyTooLarge as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def route_path(request: Request) -> str:
    """The path below the mount point (what the routes and fault prefixes see)."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def canonical_urls(request: Request) -> list[str]:
    """The ``CANONICAL_URL`` a v3 client signed: raw path + ``?`` + raw query, exactly as sent.

    When mounted under a prefix, the URL without the prefix is accepted too (clients whose
    base URL includes the prefix sign the full path; others sign the WeChat path).
    """
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else request.scope["path"]
    query = request.scope.get("query_string", b"").decode("latin-1")
    suffix = f"?{query}" if query else ""
    urls = [path + suffix]
    root: str = request.scope.get("root_path", "")
    if root and path.startswith(root):
        urls.append(path[len(root) :] + suffix)
    return urls


def base_url(request: Request, configured: str | None) -> str:
    """Where clients reach this emulator: the configured public URL or the request's own."""
    if configured:
        return configured.rstrip("/")
    root: str = request.scope.get("root_path", "")
    return f"{request.url.scheme}://{request.url.netloc}{root}"


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact UTF-8 JSON, the way WeChat writes it."""
    return Response(
        dumps(obj),
        status_code=status,
        headers=headers,
        media_type="application/json; charset=utf-8",
    )
