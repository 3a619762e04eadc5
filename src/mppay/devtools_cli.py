"""``mppay clock``, ``mppay listen`` and ``mppay events``: testing an integration against a
running sandbox (``mppay serve --sandbox``), over HTTP like any client.

- ``clock advance 2h`` posts ``/sandbox/clock`` to the emulator; in the sandbox the service
  reads the emulator's clock, so both move (see ``mppay.sandbox_clock``).
- ``listen`` polls every ``--interval`` seconds (default 1) the emulator's delivery log
  (``GET /sandbox/notifications``) and the service's event feed (``GET /admin/api/events``)
  and prints what is new since it started, one line each (``--json``: one JSON object a line).
- ``events resend`` asks the service to replay a stored notification through its handler.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import httpx
import typer

from mppay.domain.identifiers import BEIJING
from mppay.settings import SANDBOX_ADMIN_TOKEN

__all__ = ["Listener", "app", "events_app", "listen", "parse_duration"]

app = typer.Typer(help="The sandbox's one clock (emulator and service).", no_args_is_help=True)
events_app = typer.Typer(help="Stored notifications: replay one.", no_args_is_help=True)

EmulatorUrl = Annotated[
    str, typer.Option("--emulator-url", help="The sandbox emulator.", envvar="MPPAY_EMULATOR_URL")
]
ServiceUrl = Annotated[
    str, typer.Option("--service-url", help="The service.", envvar="MPPAY_SERVICE_URL")
]
AdminToken = Annotated[
    str,
    typer.Option(
        "--admin-token",
        help="Bearer token of the admin API (default: the sandbox's).",
        envvar="MPPAY_ADMIN_TOKEN",
        show_default=False,
    ),
]
DEFAULT_EMULATOR = "http://127.0.0.1:8090"
DEFAULT_SERVICE = "http://127.0.0.1:8000"
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``45s``, ``30m``, ``2h``, ``1d`` or ``1h30m``; ValueError otherwise."""
    cleaned = text.strip().lower()
    parts = list(_PART.finditer(cleaned))
    if not parts or "".join(p.group(0) for p in parts) != cleaned:
        raise ValueError(f"not a duration: {text!r} (try 90, 45s, 30m, 2h, 1d)")
    return sum(float(p.group(1)) * _UNITS[p.group(2)] for p in parts)


def _fail(message: str) -> typer.Exit:
    typer.secho(f"mppay: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(2)


def _get(http: httpx.Client, url: str, **kwargs: Any) -> Any:
    try:
        response = http.request(kwargs.pop("method", "GET"), url, **kwargs)
    except httpx.HTTPError as exc:
        raise _fail(f"{url}: {exc} (is `mppay serve --sandbox` running?)") from None
    if response.status_code >= 400:
        raise _fail(f"{url}: HTTP {response.status_code} {response.text[:300]}")
    return response.json()


def _admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _show_clocks(http: httpx.Client, emulator_url: str, service_url: str, token: str) -> None:
    emulator = _get(http, f"{emulator_url}/sandbox/clock")
    service = _get(http, f"{service_url}/admin/api/clock", headers=_admin(token))
    offset = emulator.get("offset_seconds") or 0
    typer.echo(f"emulator  {emulator['now']}  (+{offset:g} s from real time)")
    # Both in Beijing time, as WeChat writes it, so the two lines compare at a glance.
    service_now = datetime.fromisoformat(service["now"]).astimezone(BEIJING)
    typer.echo(f"service   {service_now.isoformat(timespec='seconds')}")


@app.command()
def advance(
    duration: Annotated[str, typer.Argument(help="How far: 90 (seconds), 45s, 30m, 2h, 1d.")],
    emulator_url: EmulatorUrl = DEFAULT_EMULATOR,
    service_url: ServiceUrl = DEFAULT_SERVICE,
    admin_token: AdminToken = SANDBOX_ADMIN_TOKEN,
) -> None:
    """Move the sandbox's clock forward: expiry, syncs, retries and reconciliation fire as
    they would that much later."""
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    with httpx.Client(timeout=30) as http:
        moved = _get(
            http,
            f"{emulator_url}/sandbox/clock",
            method="POST",
            json={"advance_seconds": seconds},
        )
        typer.echo(f"advanced {seconds:g} s; {moved.get('delivered', 0)} notification(s) due ran")
        _show_clocks(http, emulator_url, service_url, admin_token)


@app.command()
def show(
    emulator_url: EmulatorUrl = DEFAULT_EMULATOR,
    service_url: ServiceUrl = DEFAULT_SERVICE,
    admin_token: AdminToken = SANDBOX_ADMIN_TOKEN,
) -> None:
    """Print the emulator's and the service's time."""
    with httpx.Client(timeout=10) as http:
        _show_clocks(http, emulator_url, service_url, admin_token)


@dataclass
class Listener:
    """What ``mppay listen`` polls; ``poll`` returns the new records since the last call."""

    http: httpx.Client
    emulator_url: str
    service_url: str
    token: str
    last_delivery: int | None = None
    next_event: int | None = None

    def poll(self) -> list[dict[str, Any]]:
        deliveries = _get(self.http, f"{self.emulator_url}/sandbox/notifications")["data"]
        params = {} if self.next_event is None else {"after": self.next_event}
        feed = _get(
            self.http,
            f"{self.service_url}/admin/api/events",
            params=params,
            headers=_admin(self.token),
        )
        records: list[dict[str, Any]] = []
        if self.last_delivery is None:  # the first poll only marks where "now" is
            self.last_delivery = max((d["id"] for d in deliveries), default=0)
        else:
            for delivery in deliveries:
                if delivery["id"] > self.last_delivery:
                    records.append({**delivery, "feed": "notification"})
                    self.last_delivery = delivery["id"]
        records.extend({**event, "feed": "event"} for event in feed["events"])
        self.next_event = feed["next_after"]
        return records


def render(record: dict[str, Any]) -> str:
    """One terminal line for a delivery (and the service's answer) or an order event."""
    if record["feed"] == "notification":
        target = record.get("out_refund_no") or record.get("out_trade_no") or ""
        answer = (
            f"{record['status_code']} {(record.get('response_body') or '').strip()[:80]}"
            if record.get("status_code") is not None
            else f"no answer: {record.get('error')}"
        )
        return (
            f"{record['time']}  --> {record['api']} {record['event_type']} {target} "
            f"[{record['notification_id']}] attempt {record['attempt']}  <-- {answer}"
        )
    detail = json.dumps(record["detail"], ensure_ascii=False, separators=(",", ":"))
    return f"{record['at']}  event {record['type']} order {record['order_id']} ({record['source']}) {detail}"


def listen(
    emulator_url: EmulatorUrl = DEFAULT_EMULATOR,
    service_url: ServiceUrl = DEFAULT_SERVICE,
    admin_token: AdminToken = SANDBOX_ADMIN_TOKEN,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls.", min=0.1)] = 1.0,
) -> None:
    """Stream the emulator's notifications (with the service's answers) and every order event.

    Live, from now on, until Ctrl-C. Each record has "feed": "notification" or "event".
    """
    with httpx.Client(timeout=10) as http:
        listener = Listener(http, emulator_url.rstrip("/"), service_url.rstrip("/"), admin_token)
        listener.poll()
        if not as_json:
            typer.echo(f"listening to {emulator_url} and {service_url} (every {interval:g} s)")
        try:
            while True:
                for record in listener.poll():
                    line = json.dumps(record, ensure_ascii=False) if as_json else render(record)
                    typer.echo(line)
                time.sleep(interval)
        except KeyboardInterrupt:
            return


@events_app.command()
def resend(
    ref: Annotated[str, typer.Argument(help="Our stored row id, or WeChat's notification id.")],
    service_url: ServiceUrl = DEFAULT_SERVICE,
    admin_token: AdminToken = SANDBOX_ADMIN_TOKEN,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON answer.")] = False,
) -> None:
    """Replay a stored verified notification through the service's handler; a duplicate
    changes nothing (outcome duplicate, no new state event)."""
    with httpx.Client(timeout=30) as http:
        result = _get(
            http,
            f"{service_url.rstrip('/')}/admin/api/notifications/{ref}/resend",
            method="POST",
            headers=_admin(admin_token),
        )
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    typer.echo(
        f"replayed {result['channel']} notification {result['notification_id']} "
        f"(stored #{result['source_id']}): {result['kind']} (recorded as {result['outcome']})"
    )
    for event in result["events"]:
        typer.echo(f"  event {event['type']} order {event['order_id']}")
    if not result["events"]:
        typer.echo("  no order event added")
