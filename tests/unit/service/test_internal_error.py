"""A 500 over real HTTP (uvicorn on loopback): the client's request id in the body, the header
and the log line, and the keep-alive connection still usable afterwards."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from mppay.usecases.context import ServiceContext
from mppay.web.app import create_app
from mppay.web.request_context import RequestIdFilter

REQUEST_ID = "req-client-0001"


class Records(logging.Handler):
    """Keeps records after the same filter the service's log handler uses."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> AsyncIterator[Records]:
    handler = Records()
    logger = logging.getLogger("mppay.web.errors")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture
async def url(ctx: ServiceContext) -> AsyncIterator[str]:
    app = create_app(ctx, admin_token="admin-token-for-tests-0123456789")

    async def broken() -> None:
        raise RuntimeError("a bug in a route")

    app.add_api_route("/test/broken", broken)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(1000):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_a_500_keeps_the_request_id_and_the_connection(url: str, records: Records) -> None:
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=10) as http:
        broken = await http.get("/test/broken", headers={"X-Request-ID": REQUEST_ID})
        after = await http.get("/api/products")

    assert broken.status_code == 500
    assert broken.json() == {
        "code": "INTERNAL_ERROR",
        "message": "internal error; quote the request_id to support",
        "request_id": REQUEST_ID,
    }
    assert broken.headers["x-request-id"] == REQUEST_ID
    assert after.status_code == 200
    # The same socket carried both: the server did not close the connection after the 500.
    assert after.extensions["network_stream"] is broken.extensions["network_stream"]
    [record] = [r for r in records.records if r.levelno == logging.ERROR]
    assert record.request_id == REQUEST_ID  # type: ignore[attr-defined]
    assert record.getMessage() == "unhandled error on GET /test/broken"
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
