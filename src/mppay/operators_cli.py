"""``mppay operators add|list|disable|reset-password``: the console's accounts.

They act on the database of ``MPPAY_DATABASE_URL`` (migrated first). A password is asked for
twice without echo, or read from the first line of stdin with ``--password-stdin`` (scripts).
The sandbox's published password is refused here: only ``mppay serve --sandbox`` creates the
``sandbox`` operator with it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from mppay.domain.operators import ROLES

app = typer.Typer(help="Operators of the operations console (/console/).", no_args_is_help=True)

T = TypeVar("T")


def _with_operators(action: Callable[..., Awaitable[T]]) -> T:
    from mppay.settings import Settings
    from mppay.store.db import create_engine
    from mppay.store.migrate import upgrade_to_head_async
    from mppay.store.uow import UnitOfWorkFactory
    from mppay.usecases.errors import UseCaseError
    from mppay.usecases.operators import Operators
    from mppay.wechatpay import SystemClock

    async def run() -> T:
        engine = create_engine(Settings().database_url)
        try:
            await upgrade_to_head_async(engine)
            return await action(Operators(UnitOfWorkFactory(engine), SystemClock()))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except UseCaseError as exc:
        typer.secho(f"mppay: {exc.message} ({exc.code})", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Sign-in name (a-z, 0-9, . _ - @).")],
    role: Annotated[
        str, typer.Option(help=f"One of {', '.join(ROLES)}.", case_sensitive=False)
    ] = "viewer",
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an operator."""
    password = _password(password_stdin)
    row = _with_operators(lambda ops: ops.add(username, password, role.lower()))
    typer.echo(f"operator {row.username} ({row.role}) added")


@app.command("list")
def list_operators() -> None:
    """Every operator with its role and state."""
    from rich.console import Console
    from rich.table import Table

    from mppay.web.console.views import beijing

    rows = _with_operators(lambda ops: ops.all())
    table = Table("username", "role", "state", "created", "password changed")
    for row in rows:
        state = f"disabled {beijing(row.disabled_at, zone=False)}" if row.disabled_at else "active"
        table.add_row(
            row.username,
            row.role,
            state,
            beijing(row.created_at, zone=False),
            beijing(row.password_changed_at, zone=False),
        )
    Console().print(table)


@app.command("disable")
def disable(username: str) -> None:
    """Disable an operator; its open sessions end at once."""
    row = _with_operators(lambda ops: ops.disable(username))
    typer.echo(f"operator {row.username} disabled")


@app.command("reset-password")
def reset_password(username: str, password_stdin: PasswordStdin = False) -> None:
    """Set a new password; the operator's open sessions end."""
    password = _password(password_stdin)
    row = _with_operators(lambda ops: ops.reset_password(username, password))
    typer.echo(f"password of {row.username} changed; its sessions ended")
