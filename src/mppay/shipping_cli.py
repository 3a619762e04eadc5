"""``mppay shipping sync``: reconcile local shipping states with WeChat's get_order_list."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["app", "run_sync"]

app = typer.Typer(help="Shipping information (发货信息管理).", no_args_is_help=True)


async def run_sync() -> int:
    """Sync and print a summary; returns the number of disagreements."""
    from mppay.bootstrap import build_service
    from mppay.settings import Settings, SettingsError
    from mppay.usecases.shipping_events import sync_shipping

    settings = Settings()
    settings.check_real_mode()
    service = await build_service(settings)
    try:
        if service.ctx.shipping is None:
            raise SettingsError("shipping is off (MPPAY_SHIPPING_ENABLED=false or no AppSecret)")
        report = await sync_shipping(service.ctx)
    finally:
        await service.aclose()
    console = Console()
    table = Table(title="Shipping sync (get_order_list)")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("payments listed by WeChat", f"{report.seen:,}")
    table.add_row("not ours (unknown out_trade_no)", f"{report.unknown:,}")
    table.add_row("moved forward here", f"{report.advanced:,}")
    table.add_row("disagreements", f"{len(report.disagreements):,}")
    console.print(table)
    for line in report.disagreements:
        console.print(f"  [yellow]{line}[/yellow]")
    return len(report.disagreements)


@app.command("sync")
def sync() -> None:
    """Move local shipping states forward to what WeChat reports (exit 1 on disagreements)."""
    from mppay.logs import configure_logging
    from mppay.settings import SettingsError

    configure_logging("WARNING")
    try:
        disagreements = asyncio.run(run_sync())
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(1 if disagreements else 0)
