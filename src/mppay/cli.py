"""The ``mppay`` command line."""

from __future__ import annotations

import typer

app = typer.Typer(help="mppay: WeChat Mini Program payments, self-hosted.", no_args_is_help=True)


@app.callback()
def _root() -> None:
    """mppay: WeChat Mini Program payments, self-hosted."""


def main() -> None:
    app()
