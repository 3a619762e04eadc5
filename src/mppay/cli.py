"""The ``mppay`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="mppay: WeChat Mini Program payments, self-hosted.", no_args_is_help=True)


@app.callback()
def _root() -> None:
    """mppay: WeChat Mini Program payments, self-hosted."""


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
    import uvicorn

    from mppay.emulator import Emulator, create_app

    emu = Emulator(state_file=state_file, public_base_url=public_base_url)
    typer.echo(f"mppay emulator: http://{host}:{port}  (controls under /sandbox/)")
    uvicorn.run(create_app(emu), host=host, port=port, log_level="info")


def main() -> None:
    app()
