"""What ``mppay demo`` shows of the wire: captured notification exchanges, abbreviated.

Display helpers only: they never change a message, they shorten it for a terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "NotificationTap",
    "WireMessage",
    "abbreviate",
    "authorization_line",
    "cut",
    "xml_fields",
]

_KEEP_HEAD = 12
_LONG = 40


@dataclass
class WireMessage:
    """One HTTP exchange as it crossed the service's edge."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    status: int | None = None
    response_body: bytes = b""


class NotificationTap:
    """ASGI middleware recording every request to ``/notify/`` (what WeChat Pay sent) and to
    ``/wechat/message-push`` (the Mini Program's message push), with the
    service's answer, byte for byte, into ``sink``. It changes nothing on the way."""

    def __init__(self, app: ASGIApp, sink: list[WireMessage]) -> None:
        self.app = app
        self.sink = sink

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tapped = ("/notify/", "/wechat/message-push")
        if scope["type"] != "http" or not str(scope["path"]).startswith(tapped):
            await self.app(scope, receive, send)
            return
        message = WireMessage(
            method=str(scope["method"]),
            path=str(scope["path"]),
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
        )

        async def tapped_receive() -> Message:
            event = await receive()
            if event["type"] == "http.request":
                message.body += event.get("body", b"")
            return event

        async def tapped_send(event: Message) -> None:
            if event["type"] == "http.response.start":
                message.status = int(event["status"])
            elif event["type"] == "http.response.body":
                message.response_body += event.get("body", b"")
            await send(event)

        try:
            await self.app(scope, tapped_receive, tapped_send)
        finally:
            self.sink.append(message)


def cut(text: str, keep: int = _KEEP_HEAD) -> str:
    """``text`` shortened to its first ``keep`` characters and its length."""
    if len(text) <= keep + 8:
        return text
    return f"{text[:keep]}…({len(text)} chars)"


def abbreviate(value: Any, *, keep: tuple[str, ...] | None = None) -> Any:
    """A copy of a JSON value fit for a terminal: long strings cut, and for a dict with
    ``keep`` only those fields (plus a count of the others)."""
    if isinstance(value, dict):
        names = [k for k in value if keep is None or k in keep]
        out = {k: abbreviate(value[k]) for k in names}
        hidden = len(value) - len(names)
        if hidden:
            out["…"] = f"{hidden} more fields"
        return out
    if isinstance(value, list):
        return [abbreviate(item, keep=keep) for item in value]
    if isinstance(value, str) and len(value) > _LONG:
        return cut(value)
    return value


_XML_FIELD = re.compile(r"<(\w+)>(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))</\1>", re.DOTALL)


def xml_fields(text: str) -> dict[str, str] | None:
    """The fields of a flat WeChat Pay v2 ``<xml>`` message (for display only), or None."""
    inner = text.strip()
    if not (inner.startswith("<xml>") and inner.endswith("</xml>")):
        return None
    inner = inner[len("<xml>") : -len("</xml>")]
    return {
        m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _XML_FIELD.finditer(inner)
    }


def authorization_line(value: str) -> str:
    """An ``Authorization`` header with its credential cut."""
    scheme, _, credential = value.partition(" ")
    return f"{scheme} {credential[:8]}…" if credential else cut(value, 8)
