"""``mppay reconcile --date``: a progress bar while the bill streams, then a summary table."""

from __future__ import annotations

from datetime import date

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from mppay.bootstrap import build_service
from mppay.settings import Settings, SettingsError
from mppay.usecases.reconciliation import ReconciliationReport, reconcile

__all__ = ["print_report", "run_reconcile"]


async def run_reconcile(settings: Settings, bill_date: date) -> int:
    """Reconcile and print; returns the number of unexplained discrepancies."""
    if not settings.has_merchant_credentials():
        raise SettingsError("mppay reconcile needs merchant credentials (MPPAY_MCHID ...)")
    settings.check_real_mode()
    service = await build_service(settings)
    console = Console()
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,} rows"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task(f"bill {bill_date}", total=None)
            report = await reconcile(
                service.ctx, bill_date, progress=lambda rows: progress.update(task, completed=rows)
            )
    finally:
        await service.aclose()
    print_report(console, report)
    return report.unexplained


def print_report(console: Console, report: ReconciliationReport) -> None:
    summary = report.summary
    table = Table(title=f"Reconciliation {report.bill_date}: {report.status}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, key in (
        ("bill rows", None),
        ("bill payments", "bill_payments"),
        ("bill refunds", "bill_refunds"),
        ("matched", "matched"),
        ("fixed by sync", "fixed"),
        ("held for next day", "held"),
        ("unexplained", "unexplained"),
    ):
        table.add_row(label, f"{report.bill_rows if key is None else summary.get(key, 0):,}")
    console.print(table)
    if report.discrepancies:
        details = Table(title="Discrepancies")
        for column in ("kind", "resolution", "out_trade_no", "out_refund_no", "ours", "wechat"):
            details.add_column(column)
        for row in report.discrepancies[:50]:
            details.add_row(
                row.kind,
                row.resolution,
                row.out_trade_no or "",
                row.out_refund_no or "",
                row.ours or "",
                row.theirs or "",
            )
        console.print(details)
        if len(report.discrepancies) > 50:
            console.print(
                f"... and {len(report.discrepancies) - 50} more (GET /admin/api/reconciliations/{report.bill_date})"
            )
