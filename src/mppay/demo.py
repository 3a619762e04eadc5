"""``mppay demo``: the whole payment loop against an in-process sandbox, printed step by step.

One process: the service and the WeChat Pay emulator start on free loopback ports with a
temporary state directory (nothing of ``var/`` is touched), then the demo plays the Mini
Program and the operator over real HTTP:

 1. ``wx.login``: ``POST /sandbox/login`` on the emulator -> a login code;
 2. ``POST /api/login`` -> the service's Bearer token;
 3. ``GET /api/products``;
 4. ``POST /api/orders`` (two of the first product, with an Idempotency-Key) -> PENDING;
 5. ``POST /api/orders/{id}/pay`` -> the signed ``wx.requestPayment`` parameters (prepay);
 6. ``wx.requestPayment``: ``POST /sandbox/requestPayment`` (action confirm) -> ``:ok``;
 7. the payment notification WeChat Pay sends the service (captured on the way in);
 8. ``GET /api/orders/{id}`` (no refresh: the notification did it) -> PAID;
 9. ``POST /admin/api/orders/{id}/refunds`` for one of the two items -> PROCESSING;
10. the sandbox clock moves 3 s, WeChat settles the refund and notifies (captured);
11. ``GET /admin/api/orders/{id}`` -> PARTIALLY_REFUNDED, the refund SUCCESS;
then shipping information: ship, upload, the buyer's confirmation, the settlement push
(``mppay.demo_shipping``), and the order's timeline.

Wire messages are printed abbreviated: tokens and signatures cut, the encrypted notification
resource shortened. :func:`run_demo` returns True only if every step got what it expected.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.json import JSON
from rich.markup import escape
from rich.table import Table

from mppay.demo_shipping import run_shipping_steps
from mppay.demo_wire import (
    NotificationTap,
    WireMessage,
    abbreviate,
    authorization_line,
    cut,
    xml_fields,
)
from mppay.runner import Stack, bind, serving, start_stack
from mppay.settings import Settings

__all__ = ["DemoFailed", "run_demo"]

STEP_TIMEOUT_SECONDS = 5.0
REFUND_SETTLE_SECONDS = 3  # the emulator's default refund delay, on its business clock
_ORDER_FIELDS = ("id", "out_trade_no", "status", "amount_total_fen", "refunded_fen")


class DemoFailed(Exception):
    """A step did not get what it expected; the message says what it got."""


@dataclass
class _Demo:
    console: Console
    client: httpx.AsyncClient
    stack: Stack
    notifications: list[WireMessage]
    admin_token: str
    started: float = field(default_factory=time.monotonic)
    step_no: int = 0

    @property
    def service(self) -> str:
        return self.stack.service_url

    @property
    def emulator(self) -> str:
        assert self.stack.emulator_url is not None
        return self.stack.emulator_url

    # -- printing -----------------------------------------------------------------------

    def step(self, title: str, note: str = "") -> None:
        self.step_no += 1
        elapsed = time.monotonic() - self.started
        self.console.rule(
            f"[bold]{self.step_no}. {escape(title)}[/]  [dim]+{elapsed:.2f}s[/]",
            align="left",
        )
        if note:
            self.console.print(f"[dim]{escape(note)}[/]")

    def show_json(self, value: Any) -> None:
        self.console.print(JSON.from_data(value, indent=None), soft_wrap=False)

    def show_request(
        self, method: str, url: str, headers: dict[str, str], body: Any | None
    ) -> None:
        where = ""
        if url.startswith(self.emulator):
            url, where = url.removeprefix(self.emulator), "  [dim](emulator)[/]"
        elif url.startswith(self.service):
            url = url.removeprefix(self.service)
        self.console.print(f"[cyan]→ {method} {escape(url)}[/]{where}")
        for name, value in headers.items():
            shown = authorization_line(value) if name.lower() == "authorization" else value
            self.console.print(f"  [dim]{escape(name)}:[/] {escape(shown)}")
        if body is not None:
            self.show_json(abbreviate(body))

    def show_response(self, status: int, body: Any, keep: tuple[str, ...] | None) -> None:
        colour = "green" if status < 400 else "red"
        self.console.print(f"[{colour}]← {status}[/]")
        if body not in (None, ""):
            self.show_json(abbreviate(body, keep=keep))

    def show_notification(self, message: WireMessage) -> None:
        self.console.print(f"[magenta]⇢ {message.method} {escape(message.path)}[/]  (from WeChat)")
        for name in sorted(message.headers):
            if name.lower().startswith("wechatpay-"):
                self.console.print(
                    f"  [dim]{escape(name)}:[/] {escape(cut(message.headers[name], 24))}"
                )
        self._show_body(message.body.decode("utf-8", "replace"))
        self.console.print(f"[green]⇠ {message.status}[/]")
        answer = message.response_body.decode("utf-8", "replace").strip()
        if answer:
            self._show_body(answer)

    def _show_body(self, text: str) -> None:
        fields = xml_fields(text)
        if fields is not None:
            self.console.print("[dim]XML:[/]", end=" ")
            self.show_json(abbreviate(fields))
            return
        try:
            parsed = json.loads(text)
        except ValueError:
            self.console.print(escape(cut(text, 200)))
        else:
            self.show_json(abbreviate(parsed))

    # -- HTTP ---------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        url: str,
        *,
        expect: int,
        body: Any | None = None,
        headers: dict[str, str] | None = None,
        keep: tuple[str, ...] | None = None,
        quiet: bool = False,
    ) -> Any:
        """One request, printed; DemoFailed unless the status is ``expect``."""
        sent = dict(headers or {})
        if not quiet:
            self.show_request(method, url, sent, body)
        try:
            response = await self.client.request(method, url, json=body, headers=sent)
        except httpx.HTTPError as exc:
            raise DemoFailed(f"{method} {url}: no answer ({type(exc).__name__}: {exc})") from exc
        try:
            data: Any = response.json()
        except ValueError:
            data = response.text
        if not quiet:
            self.show_response(response.status_code, data, keep)
        if response.status_code != expect:
            raise DemoFailed(
                f"{method} {url}: expected HTTP {expect}, got {response.status_code}: {data}"
            )
        return data

    async def wait_for(
        self, what: str, probe: Callable[[], Awaitable[Any]], within: float = STEP_TIMEOUT_SECONDS
    ) -> Any:
        """Polls ``probe`` until it returns something truthy; DemoFailed after ``within`` s."""
        deadline = time.monotonic() + within
        while True:
            found = await probe()
            if found:
                return found
            if time.monotonic() > deadline:
                raise DemoFailed(f"gave up waiting for {what} after {within:.0f} s")
            await asyncio.sleep(0.05)

    async def notification(self, path_suffix: str, seen: int) -> WireMessage:
        async def probe() -> WireMessage | None:
            for message in self.notifications[seen:]:
                if message.path.endswith(path_suffix) and message.status is not None:
                    return message
            return None

        found: WireMessage = await self.wait_for(f"a notification on *{path_suffix}", probe)
        if not 200 <= (found.status or 0) < 300:
            raise DemoFailed(f"the service answered the notification with {found.status}")
        return found

    # -- the loop -----------------------------------------------------------------------

    async def run(self) -> None:
        settings = self.stack.service.settings
        api = settings.api_version
        appid = settings.appid or ""
        self.step(
            "Sandbox stack",
            "the service and the WeChat Pay emulator, in this process, on free ports",
        )
        facts = Table(show_header=False, box=None, padding=(0, 2))
        facts.add_row("service", self.service)
        facts.add_row("emulator", self.emulator)
        facts.add_row("merchant", f"mchid {settings.mchid}, appid {appid}, API {api}")
        self.console.print(facts)

        self.step("wx.login", "the Mini Program gets a one-time code from WeChat")
        login = await self.call(
            "POST", f"{self.emulator}/sandbox/login", expect=200, body={"appid": appid}
        )
        openid = str(login["openid"])

        self.step(
            "Log in to the service", "the service trades the code for a session (code2Session)"
        )
        session = await self.call(
            "POST", f"{self.service}/api/login", expect=200, body={"code": login["code"]}
        )
        user = {"Authorization": f"Bearer {session['token']}"}

        self.step("Products")
        products = await self.call(
            "GET", f"{self.service}/api/products", expect=200, keep=("id", "name", "price_fen")
        )
        if not products:
            raise DemoFailed("the catalogue is empty")
        product = products[0]

        self.step(
            "Create the order", "priced by the server; the Idempotency-Key makes a retry safe"
        )
        order = await self.call(
            "POST",
            f"{self.service}/api/orders",
            expect=201,
            body={"items": [{"product_id": product["id"], "quantity": 2}]},
            headers={**user, "Idempotency-Key": f"demo-{uuid.uuid4()}"},
            keep=_ORDER_FIELDS,
        )
        order_id = str(order["id"])
        if order["status"] != "PENDING" or order["amount_total_fen"] != 2 * product["price_fen"]:
            raise DemoFailed(f"unexpected new order: {order}")

        self.step("Prepay", "the service places the order at WeChat Pay and signs the parameters")
        started = await self.call(
            "POST", f"{self.service}/api/orders/{order_id}/pay", expect=200, headers=user
        )
        params = started["params"]
        if sorted(params) != sorted(["timeStamp", "nonceStr", "package", "signType", "paySign"]):
            raise DemoFailed(f"unexpected requestPayment parameters: {params}")

        self.step(
            "wx.requestPayment",
            "the parameters go to WeChat untouched; the user confirms in the cashier",
        )
        seen = len(self.notifications)
        cashier = await self.call(
            "POST",
            f"{self.emulator}/sandbox/requestPayment",
            expect=200,
            body={**params, "appId": appid, "openid": openid, "action": "confirm"},
        )
        if cashier.get("errMsg") != "requestPayment:ok":
            raise DemoFailed(f"the cashier said {cashier}")

        self.step("Payment notification", "WeChat Pay tells the service; it verifies and decrypts")
        self.show_notification(await self.notification("/payments", seen))

        self.step(
            "The order is PAID", "no refresh: the service already knows from the notification"
        )

        async def paid() -> Any:
            found = await self.call(
                "GET", f"{self.service}/api/orders/{order_id}", expect=200, headers=user, quiet=True
            )
            return found if found["status"] == "PAID" else None

        paid_order = await self.wait_for("the order to be PAID", paid)
        self.show_request("GET", f"{self.service}/api/orders/{order_id}", user, None)
        self.show_response(200, paid_order, _ORDER_FIELDS)

        self.step("Refund one item", "an operator refunds through the admin API")
        admin = {"Authorization": f"Bearer {self.admin_token}"}
        refund = await self.call(
            "POST",
            f"{self.service}/admin/api/orders/{order_id}/refunds",
            expect=201,
            body={"amount_fen": product["price_fen"], "reason": "mppay demo: one item returned"},
            headers=admin,
            keep=("id", "out_refund_no", "amount_fen", "status"),
        )

        self.step(
            "Refund notification",
            f"WeChat settles refunds after a moment: the sandbox clock moves {REFUND_SETTLE_SECONDS} s",
        )
        seen = len(self.notifications)
        await self.call(
            "POST",
            f"{self.emulator}/sandbox/clock",
            expect=200,
            body={"advance_seconds": REFUND_SETTLE_SECONDS},
            keep=("now", "delivered"),
        )
        self.show_notification(await self.notification("/refunds", seen))

        self.step("Refunded", "the order's story, from the admin API")

        async def settled() -> Any:
            found = await self.call(
                "GET",
                f"{self.service}/admin/api/orders/{order_id}",
                expect=200,
                headers=admin,
                quiet=True,
            )
            refunds = [r for r in found["refunds"] if r["id"] == refund["id"]]
            done = refunds and refunds[0]["status"] == "SUCCESS"
            return found if done and found["order"]["status"] == "PARTIALLY_REFUNDED" else None

        dossier = await self.wait_for("the refund to succeed", settled)
        self.show_request("GET", f"{self.service}/admin/api/orders/{order_id}", admin, None)
        self.show_response(200, dossier["order"], _ORDER_FIELDS)

        await run_shipping_steps(self, order_id, user)
        dossier = await self.call(
            "GET", f"{self.service}/admin/api/orders/{order_id}", expect=200, headers=admin,
            quiet=True,
        )  # fmt: skip
        self.console.print(_timeline(dossier["timeline"]))


def _short(text: str, width: int = 16) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _timeline(entries: list[dict[str, Any]]) -> Table:
    table = Table(title="Order timeline", title_justify="left", expand=False)
    table.add_column("at (UTC)", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("source", no_wrap=True)
    table.add_column("detail")
    for entry in entries:
        at = str(entry.get("at", ""))
        clock = at[11:23] if len(at) >= 23 else at
        detail = entry.get("detail") or {}
        shown = ", ".join(f"{k}={_short(str(v))}" for k, v in detail.items())
        table.add_row(
            clock, str(entry.get("type", "")), str(entry.get("source", "")), escape(shown)
        )
    return table


async def run_demo(console: Console | None = None) -> bool:
    """Run the demo (module docstring) and print it to ``console``.

    True only if every step succeeded; a failure is printed, never raised (except
    KeyboardInterrupt). ``MPPAY_*`` settings apply, but the database is always a fresh SQLite
    file in a temporary directory, removed at the end.
    """
    console = console or Console()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mppay-demo-") as folder:
        state = Path(folder)
        try:
            settings = Settings(database_url=f"sqlite:///{state / 'mppay.sqlite3'}")
        except ValueError as exc:
            console.print(f"[red]✘ invalid configuration:[/] {escape(str(exc))}")
            return False
        notifications: list[WireMessage] = []
        service_socket = bind("127.0.0.1", 0)
        emulator_socket = bind("127.0.0.1", 0)
        try:
            stack = await start_stack(
                settings,
                sandbox=True,
                service_socket=service_socket,
                emulator_socket=emulator_socket,
                run_worker=False,
                state_dir=state,
            )
        except Exception as exc:
            service_socket.close()
            emulator_socket.close()
            console.print(f"[red]✘ the sandbox did not start:[/] {escape(repr(exc))}")
            return False
        stack.service.app.add_middleware(NotificationTap, sink=notifications)
        admin_token = stack.service.settings.admin_token or ""
        console.print("[bold]mppay demo[/]: one payment, end to end, against the sandbox")
        demo: _Demo | None = None
        try:
            async with serving(stack), httpx.AsyncClient(timeout=10.0) as client:
                demo = _Demo(console, client, stack, notifications, admin_token, started=began)
                await demo.run()
        except DemoFailed as exc:
            step = demo.step_no if demo is not None else 0
            console.print(f"[bold red]✘ step {step} failed:[/] {escape(str(exc))}")
            return False
        except Exception as exc:
            console.print(f"[bold red]✘ the demo broke:[/] {escape(repr(exc))}")
            return False
        finally:
            await stack.service.aclose()
    console.print(
        f"[bold green]✔ every step succeeded[/] in {time.monotonic() - began:.1f} s "
        "(order paid, notified, partly refunded, refund notified, shipped, settled)"
    )
    return True
