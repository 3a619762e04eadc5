"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for the load generator.

httpx costs a few hundred microseconds of CPU per request; at a few thousand requests per
second on a 2-core machine that would make the load generator a competitor for the CPU it
is measuring. This client does only what the benchmarks need: one connection per simulated
client, ``Content-Length`` bodies (what uvicorn sends) and chunked ones for safety.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["Connection"]


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def post_json(
        self, path: str, payload: Any, headers: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        return await self.request(
            "POST", path, body, {"content-type": "application/json", **(headers or {})}
        )

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Send one request; reconnect once if the kept-alive connection was closed."""
        for attempt in (1, 2):
            if self._writer is None:
                await self._connect()
            try:
                return await self._exchange(method, path, body, headers or {})
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(
        self, method: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, bytes]:
        assert self._reader is not None
        assert self._writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"content-length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length: int | None = None
        chunked = False
        close = False
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if chunked:
            data = await self._read_chunked()
        elif length is not None:
            data = await self._reader.readexactly(length) if length else b""
        elif status in (204, 304) or method == "HEAD":
            data = b""
        else:
            data = await self._reader.read()
            close = True
        if close:
            await self.close()
        return status, data

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        parts = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)
