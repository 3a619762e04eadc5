"""``mppay serve`` and ``mppay worker``: process lifecycles, signals and the start-up banner."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mppay.bootstrap import build_service
from mppay.jobs.handlers import HANDLERS
from mppay.jobs.runtime import (
    SCHEDULE_CHECK_SECONDS,
    certificate_refresher,
    enqueue_scheduled_work,
    periodic,
)
from mppay.jobs.worker import Worker
from mppay.runner import Stack, bind, is_sqlite, jobs_in_process, run_stack, start_stack
from mppay.settings import Settings, SettingsError
from mppay.supervisor import supervise
from mppay.usecases.operators import SANDBOX_OPERATOR, SANDBOX_OPERATOR_PASSWORD

__all__ = [
    "LOOPBACK",
    "announce",
    "banner",
    "check_workers",
    "default_workers",
    "is_loopback",
    "on_signals",
    "ready_info",
    "run_event_loop",
    "run_worker",
    "serve_forever",
    "serve_processes",
]

LOOPBACK = "127.0.0.1"


def is_loopback(host: str) -> bool:
    """True when ``host`` can only be reached from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run a long-lived server coroutine on uvloop when it is installed (``uvicorn[standard]``
    brings it), as ``uvicorn.run`` would: ``asyncio.run`` alone gives uvicorn the stdlib loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] depends on it
        asyncio.run(main)
        return
    uvloop.run(main)


def on_signals(callback: object) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, callback)  # type: ignore[arg-type]


def ready_info(stack: Stack) -> dict[str, Any]:
    """What a script needs to drive a running stack (written by ``--ready-file``) and what the
    banner shows; plain JSON values, so a service process can hand it to its supervisor."""
    settings = stack.service.settings
    return {
        "service_url": stack.service_url,
        "emulator_url": stack.emulator_url,
        "preview_url": f"{stack.service_url}/preview/" if stack.emulator else None,
        "admin_token": settings.admin_token if stack.emulator else None,
        "console_url": f"{stack.service_url}/console/",
        "console_operator": SANDBOX_OPERATOR if stack.emulator else None,
        "console_password": SANDBOX_OPERATOR_PASSWORD if stack.emulator else None,
        "mchid": settings.mchid,
        "appid": settings.appid,
        "api_version": settings.api_version,
        "database": settings.database_url.split("@")[-1],
        "jobs_in_process": stack.service.worker is not None,
        "workers": 1,
    }


def banner(info: dict[str, Any]) -> None:
    console = Console()
    table = Table(show_header=False, box=None, padding=(0, 2))
    url = info["service_url"]
    sandbox = info["emulator_url"] is not None
    mode = "SANDBOX (in-process WeChat Pay emulator)" if sandbox else "real WeChat Pay"
    table.add_row("mode", f"[bold]{mode}[/], API {info['api_version']}")
    processes = info["workers"]
    table.add_row("service", url + (f"  ({processes} processes)" if processes > 1 else ""))
    table.add_row("API docs", f"{url}/docs")
    if info["preview_url"]:
        table.add_row("Mini Program preview", info["preview_url"])
    console_url = info.get("console_url") or f"{url}/console/"
    table.add_row("operations console", console_url)
    table.add_row("health / metrics", f"{url}/healthz  {url}/metrics")
    if sandbox:
        table.add_row("emulator", info["emulator_url"])
        table.add_row(
            "sandbox controls",
            f"{info['emulator_url']}/sandbox/  (deliveries: /sandbox/notifications)",
        )
        table.add_row("sandbox merchant", f"mchid {info['mchid']}, appid {info['appid']}")
        table.add_row(
            "admin token", f"{info['admin_token']}  (Authorization: Bearer ... on /admin/api/)"
        )
        if info.get("console_operator"):
            table.add_row(
                "console sign-in",
                f"{info['console_operator']} / {info['console_password']}  (sandbox only)",
            )
    table.add_row("database", info["database"])
    jobs = "in this process" if info["jobs_in_process"] else "run `mppay worker`"
    if info["jobs_in_process"] and processes > 1:
        jobs = "in the first service process"
    table.add_row("jobs", jobs)
    console.print("[bold green]mppay is running[/]  (Ctrl+C to stop)")
    console.print(table)


def announce(info: dict[str, Any], ready_file: Path | None) -> None:
    """The banner, and the ready file for scripts once everything serves."""
    banner(info)
    if ready_file is not None:
        ready_file.write_text(json.dumps(info))


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
    on_signals(stack.stop)

    await run_stack(stack, on_ready=lambda ready: announce(ready_info(ready), ready_file))


def default_workers(settings: Settings, *, sandbox: bool) -> int:
    """One process on SQLite and in sandbox; on PostgreSQL one per CPU this process may use."""
    if sandbox or is_sqlite(settings):
        return 1
    return max(1, len(os.sched_getaffinity(0)))


def check_workers(settings: Settings, *, sandbox: bool, workers: int) -> None:
    """Raise ``SettingsError`` when ``workers`` processes cannot share this configuration."""
    if workers < 1:
        raise SettingsError("--workers must be at least 1")
    if workers == 1:
        return
    if sandbox:
        raise SettingsError(
            "the sandbox's emulator lives in one process: --workers must be 1 with --sandbox"
        )
    if is_sqlite(settings):
        raise SettingsError(
            "SQLite takes one writer process at a time: --workers must be 1 on SQLite "
            "(MPPAY_DATABASE_URL=postgresql://... for several service processes)"
        )


def serve_processes(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    run_worker: bool | None,
    ready_file: Path | None = None,
) -> int:
    """``workers`` service processes on one port (real mode, PostgreSQL); the exit status."""
    settings.check_real_mode()  # refused here, once, naming the variable
    sock = bind(host, port)
    try:
        return supervise(
            settings,
            sock,
            workers=workers,
            run_worker=jobs_in_process(settings, sandbox=False, run_worker=run_worker),
            on_ready=lambda info: announce(info, ready_file),
        )
    finally:
        sock.close()


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
            await enqueue_scheduled_work(service.ctx)
            done = await worker.run_until_idle()
            Console().print(f"ran {done} due jobs")
            return
        stop_certificates = await certificate_refresher(service)
        stop_schedule = periodic(
            "schedule",
            SCHEDULE_CHECK_SECONDS,
            lambda: enqueue_scheduled_work(service.ctx),
        )
        on_signals(worker.stop)
        try:
            await worker.run()
        finally:
            await stop_schedule()
            await stop_certificates()
    finally:
        await service.aclose()
