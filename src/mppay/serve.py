"""``mppay serve`` and ``mppay worker``: process lifecycles, signals and the start-up banner."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import signal
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mppay.bootstrap import build_service
from mppay.jobs.handlers import HANDLERS
from mppay.jobs.runtime import (
    SCHEDULE_CHECK_SECONDS,
    certificate_refresher,
    enqueue_due_reconciliation,
    periodic,
)
from mppay.jobs.worker import Worker
from mppay.runner import Stack, bind, run_stack, start_stack
from mppay.settings import Settings, SettingsError

__all__ = ["LOOPBACK", "banner", "is_loopback", "run_worker", "serve_forever"]

LOOPBACK = "127.0.0.1"


def is_loopback(host: str) -> bool:
    """True when ``host`` can only be reached from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _on_signals(callback: object) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, callback)  # type: ignore[arg-type]


def banner(stack: Stack) -> None:
    console = Console()
    settings = stack.service.settings
    table = Table(show_header=False, box=None, padding=(0, 2))
    url = stack.service_url
    mode = "SANDBOX (in-process WeChat Pay emulator)" if stack.emulator else "real WeChat Pay"
    table.add_row("mode", f"[bold]{mode}[/], API {settings.api_version}")
    table.add_row("service", url)
    table.add_row("API docs", f"{url}/docs")
    if stack.emulator:
        table.add_row("Mini Program preview", f"{url}/preview/")
    table.add_row("health / metrics", f"{url}/healthz  {url}/metrics")
    if stack.emulator_url:
        table.add_row("emulator", stack.emulator_url)
        table.add_row(
            "sandbox controls",
            f"{stack.emulator_url}/sandbox/  (deliveries: /sandbox/notifications)",
        )
        table.add_row("sandbox merchant", f"mchid {settings.mchid}, appid {settings.appid}")
        table.add_row(
            "admin token", f"{settings.admin_token}  (Authorization: Bearer ... on /admin/api/)"
        )
    db = settings.database_url.split("@")[-1]
    table.add_row("database", db)
    table.add_row("jobs", "in this process" if stack.service.worker else "run `mppay worker`")
    console.print("[bold green]mppay is running[/]  (Ctrl+C to stop)")
    console.print(table)


def ready_info(stack: Stack) -> dict[str, str | None]:
    """What a script needs to drive a running stack (written by ``--ready-file``)."""
    settings = stack.service.settings
    return {
        "service_url": stack.service_url,
        "emulator_url": stack.emulator_url,
        "preview_url": f"{stack.service_url}/preview/" if stack.emulator else None,
        "admin_token": settings.admin_token if stack.emulator else None,
        "mchid": settings.mchid,
        "appid": settings.appid,
        "api_version": settings.api_version,
    }


async def serve_forever(
    settings: Settings,
    *,
    host: str,
    port: int,
    sandbox: bool,
    emulator_port: int,
    run_worker: bool | None,
    state_dir: Path | None = None,
    ready_file: Path | None = None,
) -> None:
    service_socket = bind(host, port)
    # The emulator answers /sandbox/ controls that pay any order: never beyond this machine.
    emulator_socket = bind(LOOPBACK, emulator_port) if sandbox else None
    stack = await start_stack(
        settings,
        sandbox=sandbox,
        service_socket=service_socket,
        emulator_socket=emulator_socket,
        run_worker=run_worker,
        state_dir=state_dir,
    )
    _on_signals(stack.stop)

    def on_ready(ready: Stack) -> None:
        banner(ready)
        if ready_file is not None:
            ready_file.write_text(json.dumps(ready_info(ready)))

    await run_stack(stack, on_ready=on_ready)


async def run_worker(settings: Settings, *, once: bool) -> None:
    """A worker process: jobs, the reconciliation schedule and certificate refresh."""
    if not settings.has_merchant_credentials():
        raise SettingsError(
            "mppay worker needs merchant credentials (MPPAY_MCHID ...); "
            "in sandbox mode `mppay serve` runs the jobs itself"
        )
    settings.check_real_mode()
    service = await build_service(settings)
    worker = Worker(service.ctx, HANDLERS)
    try:
        if once:
            await enqueue_due_reconciliation(service.ctx)
            done = await worker.run_until_idle()
            Console().print(f"ran {done} due jobs")
            return
        stop_certificates = await certificate_refresher(service)
        stop_schedule = periodic(
            "reconciliation-schedule",
            SCHEDULE_CHECK_SECONDS,
            lambda: enqueue_due_reconciliation(service.ctx),
        )
        _on_signals(worker.stop)
        try:
            await worker.run()
        finally:
            await stop_schedule()
            await stop_certificates()
    finally:
        await service.aclose()
