"""The last resort: an exception no handler took becomes a 500 ``INTERNAL_ERROR`` answer.

Starlette's own catch-all (``ServerErrorMiddleware``) is the outermost layer: it runs after the
request-id middleware has already reset the id, so its answer and log line carried ``-``, and it
re-raises to the server, which then closes the keep-alive connection. This middleware sits just
inside the request-id middleware instead, answers and logs with the client's id, and finishes the
response without re-raising, so the connection stays usable.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mppay.web.errors import error_response

__all__ = ["InternalErrorMiddleware"]

log = logging.getLogger("mppay.web.errors")


class InternalErrorMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                # Part of another answer is already on the wire; only closing the connection
                # (the server does, on the re-raise) tells the client it is incomplete.
                raise
            response = error_response(
                500, "INTERNAL_ERROR", "internal error; quote the request_id to support"
            )
            await response(scope, receive, send)
