"""The ``mppay`` command line. Imports happen inside commands so ``mppay --help`` is instant."""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="mppay: WeChat Mini Program payments, self-hosted.", no_args_is_help=True)


@app.callback()
def _root() -> None:
    """mppay: WeChat Mini Program payments, self-hosted."""


def _run(main: Coroutine[Any, Any, None]) -> None:
    from mppay.serve import run_event_loop

    run_event_loop(main)


def _fail(message: str) -> typer.Exit:
    typer.secho(f"mppay: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(2)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the service.")] = 8000,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox/--real",
            help="Sandbox: run the WeChat Pay emulator in-process with a sandbox merchant "
            "(local development; `make run` passes it). Default: real WeChat Pay, which needs "
            "the merchant settings (MPPAY_MCHID ...).",
        ),
    ] = False,
    sandbox_public: Annotated[
        bool,
        typer.Option(
            "--sandbox-public",
            help="Let a sandbox listen on a non-loopback --host. A sandbox mints logins for any "
            "openid and has a published admin token: only for a trusted network.",
        ),
    ] = False,
    emulator_port: Annotated[
        int, typer.Option(help="Port of the in-process emulator (sandbox).")
    ] = 8090,
    worker: Annotated[
        bool | None,
        typer.Option(
            "--worker/--no-worker",
            help="Run the background jobs in this process "
            "(default: yes with SQLite or in sandbox; run `mppay worker` otherwise).",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Service processes sharing the port (PostgreSQL only; default: one per CPU "
            "on PostgreSQL, 1 on SQLite and in sandbox).",
        ),
    ] = None,
    state_dir: Annotated[
        Path, typer.Option(help="Sandbox: where the emulator state and the SQLite database live.")
    ] = Path("var/sandbox"),
    ready_file: Annotated[
        Path | None,
        typer.Option(help="Write the URLs as JSON to this file once serving (scripts, tests)."),
    ] = None,
) -> None:
    """Start the payment service (`make run` runs `mppay serve --sandbox`)."""
    from mppay.logs import configure_logging
    from mppay.serve import (
        check_workers,
        default_workers,
        is_loopback,
        serve_forever,
        serve_processes,
    )
    from mppay.settings import MERCHANT_ENVIRONMENT, Settings, SettingsError

    try:
        settings = Settings()
    except ValueError as exc:
        raise _fail(f"invalid configuration: {exc}") from exc
    configure_logging(settings.log_level)
    if sandbox and not sandbox_public and not is_loopback(host):
        raise _fail(
            f"a sandbox is open to anyone who reaches it; --host {host} is not a loopback "
            "address (add --sandbox-public to serve it on a trusted network anyway)"
        )
    if not sandbox and not settings.has_merchant_credentials():
        raise _fail(
            f"no merchant settings: set {MERCHANT_ENVIRONMENT} (see .env.example), "
            "or pass --sandbox to run against the built-in WeChat Pay emulator"
        )
    processes = workers if workers is not None else default_workers(settings, sandbox=sandbox)
    try:
        check_workers(settings, sandbox=sandbox, workers=processes)
        if processes > 1:
            raise typer.Exit(
                serve_processes(
                    settings,
                    host=host,
                    port=port,
                    workers=processes,
                    run_worker=worker,
                    ready_file=ready_file,
                )
            )
        _run(
            serve_forever(
                settings,
                host=host,
                port=port,
                sandbox=sandbox,
                emulator_port=emulator_port,
                run_worker=worker,
                state_dir=state_dir,
                ready_file=ready_file,
            )
        )
    except SettingsError as exc:
        raise _fail(str(exc)) from exc
    except OSError as exc:
        raise _fail(
            f"cannot listen: {exc.strerror or exc} (is another mppay running? try --port)"
        ) from exc


@app.command("worker")
def worker_command(
    once: Annotated[bool, typer.Option(help="Run the jobs that are due now, then exit.")] = False,
) -> None:
    """Run background jobs: order sync, expiry, refund sync, reconciliation, shipping, retention."""
    from mppay.logs import configure_logging
    from mppay.serve import run_worker
    from mppay.settings import Settings, SettingsError

    settings = Settings()
    configure_logging(settings.log_level)
    try:
        _run(run_worker(settings, once=once))
    except SettingsError as exc:
        raise _fail(str(exc)) from exc


@app.command()
def migrate() -> None:
    """Bring the database (MPPAY_DATABASE_URL) to the newest schema."""
    from mppay.settings import Settings
    from mppay.store.migrate import run_sync_upgrade

    settings = Settings()
    run_sync_upgrade(settings.database_url)  # the engine creates a SQLite file's folder
    typer.echo("database is at the newest schema")


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    max_clock_skew: Annotated[
        float, typer.Option(min=1, help="Seconds our clock may differ from WeChat Pay's.")
    ] = 5.0,
) -> None:
    """Check a real-mode configuration before the first payment (exit 0 only if all pass)."""
    import asyncio

    from mppay.doctor import doctor as run_doctor
    from mppay.logs import configure_logging

    configure_logging("WARNING")
    raise typer.Exit(
        asyncio.run(run_doctor(as_json=as_json, max_clock_skew_seconds=max_clock_skew))
    )


@app.command()
def reconcile(
    bill_date: Annotated[
        str, typer.Option("--date", help="Bill date, YYYY-MM-DD (Beijing calendar day).")
    ],
) -> None:
    """Reconcile one day's WeChat trade bill against local orders and refunds."""
    import asyncio

    from mppay.logs import configure_logging
    from mppay.reconcile_cli import run_reconcile
    from mppay.settings import Settings, SettingsError

    try:
        day = date.fromisoformat(bill_date)
    except ValueError as exc:
        raise _fail(f"--date must be YYYY-MM-DD, not {bill_date!r}") from exc
    settings = Settings()
    configure_logging("WARNING")
    try:
        unexplained = asyncio.run(run_reconcile(settings, day))
    except SettingsError as exc:
        raise _fail(str(exc)) from exc
    raise typer.Exit(1 if unexplained else 0)


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8090,
    state_file: Annotated[
        Path | None, typer.Option(help="JSON file keeping the emulator's state across restarts.")
    ] = None,
    public_base_url: Annotated[
        str | None, typer.Option(help="Base URL clients use to reach it (bill download URLs).")
    ] = None,
) -> None:
    """Run the WeChat Pay emulator (v3, v2, jscode2session and /sandbox/ controls)."""
    import logging

    import uvicorn

    from mppay.emulator import Emulator, create_app
    from mppay.emulator.app import RedactSecrets

    logging.getLogger("uvicorn.access").addFilter(RedactSecrets())
    emu = Emulator(state_file=state_file, public_base_url=public_base_url)
    typer.echo(f"mppay emulator: http://{host}:{port}  (controls under /sandbox/)")
    uvicorn.run(create_app(emu), host=host, port=port, log_level="info")


@app.command()
def demo() -> None:
    """Walk through one payment end to end against an in-process sandbox (exit 0 if all worked)."""
    import asyncio

    from mppay.demo import run_demo

    raise typer.Exit(0 if asyncio.run(run_demo()) else 1)


def _operators_app() -> typer.Typer:
    from mppay.operators_cli import app as operators

    return operators


app.add_typer(_operators_app(), name="operators")


def _shipping_app() -> typer.Typer:
    from mppay.shipping_cli import app as shipping

    return shipping


app.add_typer(_shipping_app(), name="shipping")


def _devtools() -> None:
    """``clock``, ``listen`` and ``events``: testing an integration against a sandbox."""
    from mppay.devtools_cli import app as clock
    from mppay.devtools_cli import events_app, listen

    app.add_typer(clock, name="clock")
    app.add_typer(events_app, name="events")
    app.command(name="listen")(listen)


def _trigger() -> None:
    """``trigger``: named scenarios in a running sandbox."""
    from mppay.trigger_cli import trigger

    app.command(name="trigger")(trigger)


_devtools()
_trigger()


def main() -> None:
    app()
