"""Printing the verdicts: one line per check (and its fix), or JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from .result import CheckResult

__all__ = ["render_json", "render_text"]

_MARK = {"pass": ("✓", "green"), "fail": ("✗", "bold red"), "skip": ("–", "dim")}


def render_text(results: Sequence[CheckResult], console: Console) -> None:
    for result in results:
        mark, style = _MARK[result.status]
        console.print(
            f"[{style}]{mark} {result.status.upper():4}[/] {escape(result.title)}: "
            f"{escape(result.detail)}",
            soft_wrap=True,
        )
        if result.fix:
            console.print(f"         [yellow]fix:[/] {escape(result.fix)}", soft_wrap=True)
    failures = [r for r in results if not r.ok]
    if failures:
        console.print(
            f"[bold red]{len(failures)} of {len(results)} checks failed[/]: fix them before the "
            "first payment"
        )
    else:
        skipped = sum(r.status == "skip" for r in results)
        console.print(
            f"[green]all checks passed[/] ({len(results) - skipped} passed, {skipped} skipped "
            "because they do not apply to this configuration)"
        )


def render_json(results: Sequence[CheckResult]) -> str:
    return json.dumps(
        {"ok": all(r.ok for r in results), "checks": [r.as_json() for r in results]},
        ensure_ascii=False,
        indent=2,
    )
