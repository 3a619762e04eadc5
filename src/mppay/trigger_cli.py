"""``mppay trigger <scenario>``: make one named hard case happen in a running sandbox.

It posts ``/sandbox/scenarios/{name}`` to the emulator (see src/mppay/emulator/scenarios.py);
``--order`` takes the service's order id or the ``out_trade_no`` (the service is asked to
translate an id), ``--refund`` the ``out_refund_no`` (or, with ``--order`` alone, the order's
latest refund). The result is then visible in the service's timeline (``mppay listen``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer

from mppay.devtools_cli import (
    DEFAULT_EMULATOR,
    DEFAULT_SERVICE,
    AdminToken,
    EmulatorUrl,
    ServiceUrl,
)
from mppay.emulator.scenarios import SCENARIOS
from mppay.settings import SANDBOX_ADMIN_TOKEN

__all__ = ["trigger"]


class _Failed(Exception):
    pass


def _call(http: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise _Failed(f"{url}: {exc} (is `mppay serve --sandbox` running?)") from None


def _mchid(http: httpx.Client, emulator_url: str, given: str | None) -> str:
    if given:
        return given
    merchants = _call(http, "GET", f"{emulator_url}/sandbox/merchants").json()["data"]
    if len(merchants) != 1:
        raise _Failed(f"the emulator has {len(merchants)} merchants: give --mchid")
    return str(merchants[0]["mchid"])


def _dossier(http: httpx.Client, service_url: str, token: str, order: str) -> dict[str, Any] | None:
    """The service's view of ``order`` if it is one of its ids, else None (an out_trade_no)."""
    response = _call(
        http,
        "GET",
        f"{service_url}/admin/api/orders/{order}",
        headers={"Authorization": f"Bearer {token}"},
    )
    if response.status_code in (404, 422):
        return None
    if response.status_code >= 400:
        raise _Failed(f"service: HTTP {response.status_code} {response.text[:300]}")
    return dict(response.json())


def _subject(
    http: httpx.Client,
    subject: str,
    order: str | None,
    refund: str | None,
    service_url: str,
    token: str,
) -> str:
    if subject == "out_refund_no" and refund:
        return refund
    if not order:
        flag = "--refund (or --order)" if subject == "out_refund_no" else "--order"
        raise _Failed(f"this scenario needs {flag}")
    dossier = _dossier(http, service_url, token, order)
    if subject == "out_trade_no":
        return str(dossier["order"]["out_trade_no"]) if dossier else order
    refunds = (dossier or {}).get("refunds") or []
    if not refunds:
        raise _Failed(f"the service knows no refund of order {order}: give --refund")
    return str(refunds[-1]["out_refund_no"])


def trigger(
    scenario: Annotated[
        str | None, typer.Argument(help="Scenario name (see --list).", show_default=False)
    ] = None,
    order: Annotated[
        str | None,
        typer.Option("--order", help="The service's order id or its out_trade_no."),
    ] = None,
    refund: Annotated[
        str | None, typer.Option("--refund", help="out_refund_no (refund scenarios).")
    ] = None,
    mchid: Annotated[
        str | None, typer.Option("--mchid", help="Merchant (default: the only one).")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the scenarios.")] = False,
    emulator_url: EmulatorUrl = DEFAULT_EMULATOR,
    service_url: ServiceUrl = DEFAULT_SERVICE,
    admin_token: AdminToken = SANDBOX_ADMIN_TOKEN,
) -> None:
    """Make a named scenario happen in the sandbox (payment-succeeded, duplicate-storm, ...)."""
    if list_ or scenario is None:
        width = max(len(name) for name in SCENARIOS)
        for found in SCENARIOS.values():
            typer.echo(f"{found.name:<{width}}  {found.summary}")
        return
    chosen = SCENARIOS.get(scenario)
    if chosen is None:
        typer.secho(f"mppay: no scenario {scenario!r} (mppay trigger --list)", err=True, fg="red")
        raise typer.Exit(2)
    try:
        with httpx.Client(timeout=30) as http:
            body = {
                "mchid": _mchid(http, emulator_url, mchid),
                chosen.subject: _subject(
                    http, chosen.subject, order, refund, service_url, admin_token
                ),
            }
            response = _call(
                http, "POST", f"{emulator_url}/sandbox/scenarios/{scenario}", json=body
            )
    except _Failed as exc:
        typer.secho(f"mppay: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    if response.status_code >= 400:
        typer.secho(f"mppay: {scenario}: {response.json().get('message')}", err=True, fg="red")
        raise typer.Exit(1)
    typer.echo(json.dumps(response.json(), ensure_ascii=False))
