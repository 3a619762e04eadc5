"""Running the service: real mode, or sandbox mode with the emulator in the same process.

Sandbox mode provisions (or reuses) a sandbox merchant in the emulator, points the service's
WeChat base URLs at the emulator and its notify URLs at the service, and keeps its state in
``var/sandbox/`` so a restart keeps orders and the merchant's keys together.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from mppay.bootstrap import Service, Starter, build_service
from mppay.emulator import Emulator
from mppay.emulator import create_app as create_emulator_app
from mppay.emulator.shipping_http import configure_shipping
from mppay.jobs.runtime import certificate_refresher, in_process_worker
from mppay.sandbox_clock import LinkedClock, ServiceClock, follow_clock
from mppay.settings import SANDBOX_ADMIN_TOKEN, Settings
from mppay.web.console import enable_sandbox as enable_sandbox_console
from mppay.web.preview import mount_preview

__all__ = [
    "Stack",
    "bind",
    "is_sqlite",
    "jobs_in_process",
    "run_stack",
    "sandbox_settings",
    "start_stack",
]

log = logging.getLogger(__name__)

SANDBOX_DIR = Path("var/sandbox")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free one), so URLs are known before serving."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


def sandbox_merchant(emulator: Emulator) -> dict[str, Any]:
    """The sandbox merchant: the first one the emulator holds, or a fresh one."""
    existing = emulator.merchants()
    return existing[0] if existing else emulator.create_merchant(key_mode="public_key")


def provision_message_push(emulator: Emulator, mchid: str, service_url: str) -> dict[str, Any]:
    """Point the sandbox merchant's message push at this service (safe mode), keeping the
    Token and EncodingAESKey it already has (they live in the emulator's state file)."""
    current = emulator.state.merchants[mchid]
    token = current.push_token or secrets.token_urlsafe(24)
    aes_key = current.push_aes_key or base64.b64encode(secrets.token_bytes(32)).decode()[:43]
    return configure_shipping(
        emulator,
        mchid,
        {
            "push_url": f"{service_url}/wechat/message-push",
            "push_token": token,
            "push_aes_key": aes_key,
            "push_mode": "safe",
        },
    )


def sandbox_settings(
    settings: Settings,
    merchant: dict[str, Any],
    *,
    emulator_url: str,
    service_url: str,
    state_dir: Path = SANDBOX_DIR,
) -> Settings:
    """``settings`` with the sandbox merchant's keys and the emulator's URLs filled in.

    The database is ``<state_dir>/mppay.sqlite3`` unless MPPAY_DATABASE_URL was set.
    """
    explicit_db = "database_url" in settings.model_fields_set
    return settings.model_copy(
        update={
            "appid": merchant["appid"],
            "app_secret": merchant["app_secret"],
            "mchid": merchant["mchid"],
            "merchant_serial_no": merchant["merchant_serial_no"],
            "merchant_private_key": merchant["merchant_private_key_pem"],
            "api_v3_key": merchant["api_v3_key"],
            "api_v2_key": merchant["api_v2_key"],
            "wechatpay_public_key": merchant["wechatpay_public_key_pem"],
            "wechatpay_public_key_id": merchant["wechatpay_public_key_id"],
            "message_push_token": merchant.get("push_token"),
            "message_push_aes_key": merchant.get("push_aes_key"),
            "wechatpay_base_url": emulator_url,
            "wechat_api_base_url": emulator_url,
            "notify_base_url": service_url,
            "admin_token": settings.admin_token or SANDBOX_ADMIN_TOKEN,
            "database_url": settings.database_url
            if explicit_db
            else f"sqlite:///{state_dir / 'mppay.sqlite3'}",
        }
    )


def jobs_in_process(settings: Settings, *, sandbox: bool, run_worker: bool | None) -> bool:
    """Whether ``serve`` runs the background jobs itself: ``--worker/--no-worker``, else
    ``MPPAY_RUN_JOBS``, else yes in sandbox and on SQLite (one file, one process)."""
    if run_worker is not None:
        return run_worker
    if settings.run_jobs is not None:
        return settings.run_jobs
    return sandbox or is_sqlite(settings)


def is_sqlite(settings: Settings) -> bool:
    return settings.database_url.startswith("sqlite")


@dataclass
class Stack:
    """A running service (and, in sandbox mode, its emulator)."""

    service: Service
    service_url: str
    emulator: Emulator | None
    emulator_url: str | None
    servers: list[_Server]

    def stop(self) -> None:
        for server in self.servers:
            server.should_exit = True


class _Server(uvicorn.Server):
    """A uvicorn server on a given socket that leaves signal handling to the runner
    (two servers in one process must not each capture and re-raise SIGINT)."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket) -> None:
        super().__init__(config)
        self.sock = sock

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def make_server(app: Any, sock: socket.socket, log_level: str) -> _Server:
    config = uvicorn.Config(app, log_level=log_level.lower(), access_log=False, lifespan="on")
    return _Server(config, sock)


async def start_stack(
    settings: Settings,
    *,
    sandbox: bool,
    service_socket: socket.socket,
    emulator_socket: socket.socket | None = None,
    run_worker: bool | None = None,
    state_dir: Path | None = None,
    log_level: str = "warning",
    emulator_options: dict[str, Any] | None = None,
) -> Stack:
    """Wire everything and return it, not yet serving (``run_stack`` serves it)."""
    service_url = _url(service_socket)
    emulator: Emulator | None = None
    emulator_url: str | None = None
    servers: list[_Server] = []
    if sandbox:
        if emulator_socket is None:
            raise ValueError("sandbox mode needs an emulator socket")
        folder = state_dir or SANDBOX_DIR
        folder.mkdir(parents=True, exist_ok=True)
        emulator_url = _url(emulator_socket)
        emulator = Emulator(
            state_file=folder / "emulator.json",
            public_base_url=emulator_url,
            **{"clock": LinkedClock(), **(emulator_options or {})},
        )
        merchant = {**sandbox_merchant(emulator)}
        merchant.update(provision_message_push(emulator, merchant["mchid"], service_url))
        settings = sandbox_settings(
            settings, merchant, emulator_url=emulator_url, service_url=service_url, state_dir=folder
        )
        servers.append(make_server(create_emulator_app(emulator), emulator_socket, log_level))
    else:
        settings.check_real_mode()
    starters: list[Starter] = [certificate_refresher]
    if jobs_in_process(settings, sandbox=sandbox, run_worker=run_worker):
        starters.append(in_process_worker)
    # One clock in the sandbox: the service reads the emulator's (see mppay.sandbox_clock).
    linked = emulator.clock if emulator is not None else None
    business_clock = ServiceClock(linked) if isinstance(linked, LinkedClock) else None
    service = await build_service(settings, business_clock=business_clock, starters=starters)
    if isinstance(linked, LinkedClock):
        follow_clock(linked, service)
    if emulator_url is not None:
        await enable_sandbox_console(service.app, service.ctx, emulator_url)
    if emulator_url is not None and settings.appid:
        mount_preview(
            service.app,
            emulator_url=emulator_url,
            appid=settings.appid,
            api_version=settings.api_version,
        )
    servers.insert(0, make_server(service.app, service_socket, log_level))
    return Stack(service, service_url, emulator, emulator_url, servers)


async def run_stack(
    stack: Stack, *, on_ready: Callable[[Stack], Awaitable[None] | None] | None = None
) -> None:
    """Serve until every server exits (``stack.stop()``, or SIGINT/SIGTERM in the CLI)."""
    tasks = [asyncio.create_task(server.serve(sockets=[server.sock])) for server in stack.servers]
    while not all(server.started for server in stack.servers):
        if any(task.done() for task in tasks):
            break
        await asyncio.sleep(0.02)
    if on_ready is not None and all(server.started for server in stack.servers):
        result = on_ready(stack)
        if result is not None:
            await result
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stack.stop()  # one server ending (or failing) takes the other down with it
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        if stack.emulator is not None:
            stack.emulator.save_if_dirty()


@contextlib.asynccontextmanager
async def serving(stack: Stack) -> AsyncIterator[Stack]:
    """Serve ``stack`` in the background of an async block (tests, demo)."""
    ready = asyncio.Event()
    task = asyncio.create_task(run_stack(stack, on_ready=lambda _: ready.set()))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()
        raise RuntimeError("the stack stopped before it was ready")
    try:
        yield stack
    finally:
        stack.stop()
        await task
