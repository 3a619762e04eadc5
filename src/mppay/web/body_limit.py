"""Refuse oversized request bodies before anything reads them."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mppay.web.request_context import current_request_id

__all__ = ["BodyLimitMiddleware"]


class BodyLimitMiddleware:
    """413 ``PAYLOAD_TOO_LARGE`` when Content-Length or the streamed body exceeds ``max_bytes``.

    A declared length is refused before the app runs; a chunked body is counted as the app
    reads it, and once past the limit whatever the app answers is replaced by the 413.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        seen = 0
        too_large = False
        app_started = False
        answered = False

        async def limited_receive() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal app_started, answered
            if too_large and not app_started:
                # The app is answering a body it never got whole: FastAPI turns the failed
                # read of a chunked body (no Content-Length to check up front) into 400 "error
                # parsing the body". The true answer is ours, whatever the route made of it.
                if message["type"] == "http.response.start" and not answered:
                    answered = True
                    await self._reject(send)
                return
            if message["type"] == "http.response.start":
                app_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if too_large and not app_started:
                if not answered:
                    await self._reject(send)
                return
            raise

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {
                "code": "PAYLOAD_TOO_LARGE",
                "message": f"request body exceeds {self.max_bytes} bytes",
                "request_id": current_request_id(),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass
