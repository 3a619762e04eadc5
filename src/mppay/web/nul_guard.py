"""Refuse NUL characters in the path and the query string before any route sees them.

PostgreSQL cannot store or even compare text containing NUL (``invalid byte sequence``), so a
``%00`` in an order id or a search filter would surface as a 500 from the database driver. No
identifier, token or filter of this API legitimately contains one, so one check here covers
every string parameter of every route, present and future. (JSON bodies are checked by the
request schemas' base, ``RequestBody``; notification bodies are verified as raw bytes.)
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from mppay.web.errors import error_response

__all__ = ["NulGuardMiddleware", "nul_location"]

_NUL = "\x00"
_MESSAGE = "NUL characters are not accepted"


def nul_location(path: str, query_string: bytes) -> list[str] | None:
    """Where a NUL is: ``["path"]``, ``["query", name]``, or ``None`` when there is none."""
    if _NUL in path:
        return ["path"]
    # Starlette decodes the query the same way (percent-decoding, UTF-8 with replacement).
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if _NUL in name or _NUL in value:
            return ["query", name.replace(_NUL, "\\x00")]
    return None


class NulGuardMiddleware:
    """422 ``INVALID_REQUEST`` (with ``details``) for a NUL in the path or a query parameter."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = nul_location(scope.get("path", ""), scope.get("query_string", b""))
            if where is not None:
                response = error_response(
                    422,
                    "INVALID_REQUEST",
                    f"{'.'.join(where)}: {_MESSAGE}",
                    details=[{"loc": where, "msg": _MESSAGE, "type": "nul_character"}],
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
