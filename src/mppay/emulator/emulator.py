"""``Emulator``: the state and behaviour of the emulated WeChat Pay, usable without HTTP.

The HTTP app (``create_app``) is a thin layer over this object; the service's sandbox mode and
tests call its helpers directly. Not thread-safe: use it from the event loop that serves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx

from .bills import BillTokens
from .cashier import Cashier
from .clock import BusinessClock, SandboxClock, format_rfc3339
from .faults import Faults
from .login import Logins
from .merchants import new_merchant
from .messages import refund_json, transaction_json
from .notifier import ACK_TIMEOUT, Notifier, attempt_json
from .payments import Payments
from .pushes import Pushes
from .shipping import Shipping
from .state import EmulatorState, Order, Refund

__all__ = ["Emulator"]

log = logging.getLogger("mppay.emulator")

_ATTEMPT_FILTERS = ("mchid", "out_trade_no", "out_refund_no", "event_type", "notification_id")


class Emulator:
    """Merchants, orders, refunds, login codes, the notification outbox, faults and clocks.

    Options (all keyword-only):
    - ``clock``: the business clock (default ``SandboxClock`` over ``wall_clock``);
    - ``wall_clock``: real time for signatures and the 5-minute window (default ``time.time``);
    - ``notify_transport`` / ``notify_client_factory``: how notifications leave (default: the
      network); pass ``httpx.ASGITransport(app=merchant_app)`` to deliver in-process;
    - ``refund_delay_seconds``: business seconds until a refund succeeds on its own (3);
    - ``state_file``: JSON file to load at start and save after every change;
    - ``public_base_url``: base of ``download_url`` (default: taken from each request);
    - ``notify_timeout_seconds``: real seconds a merchant has to acknowledge (WeChat: 5).
    """

    def __init__(
        self,
        *,
        clock: BusinessClock | None = None,
        wall_clock: Callable[[], float] = time.time,
        notify_transport: httpx.AsyncBaseTransport | None = None,
        notify_client_factory: Callable[[], httpx.AsyncClient] | None = None,
        refund_delay_seconds: float = 3.0,
        state_file: str | Path | None = None,
        public_base_url: str | None = None,
        notify_timeout_seconds: float = ACK_TIMEOUT,
    ) -> None:
        self.state_file = Path(state_file) if state_file is not None else None
        self.state = EmulatorState.load(self.state_file) if self.state_file else EmulatorState()
        self.wall_clock = wall_clock
        self.clock: BusinessClock = clock if clock is not None else SandboxClock(wall=wall_clock)
        if isinstance(self.clock, SandboxClock):
            self.clock.restore_offset(self.state.clock_offset)
        self.public_base_url = public_base_url
        self.faults = Faults(self.state.faults)
        self.payments = Payments(
            self.state,
            self.clock,
            refund_delay_seconds=refund_delay_seconds,
            on_event=self._on_event,
        )
        self.notifier = Notifier(
            self.state,
            self.clock,
            self.faults,
            wall_clock=wall_clock,
            transport=notify_transport,
            client_factory=notify_client_factory,
            before_pump=self.tick,
            ack_timeout=notify_timeout_seconds,
        )
        self.logins = Logins(self.state, self.clock)
        self.pushes = Pushes(
            self.state, self.clock, self.faults, wall_clock=wall_clock,
            client=self.notifier.http_client,
        )  # fmt: skip
        self.shipping = Shipping(self.state, self.clock, push=self._on_push)
        self.cashier = Cashier(self)
        self.bill_tokens = BillTokens()
        self._loop_task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._spawned: set[asyncio.Task[Any]] = set()
        self._dirty = False

    def _on_event(self, event_type: str, order: Order, refund: Refund | None) -> None:
        self.notifier.enqueue(event_type, order, refund)
        self.touch()
        self.kick()

    def _on_push(self, merchant: Any, event: str, transaction_id: str, fields: Any) -> None:
        self.pushes.enqueue(merchant, event, transaction_id, fields)
        self.touch()
        self.kick()

    # -- merchants ------------------------------------------------------------------------

    def create_merchant(
        self,
        *,
        key_mode: str = "public_key",
        name: str | None = None,
        refund_notify_url: str | None = None,
        mchid: str | None = None,
        appid: str | None = None,
        app_secret: str | None = None,
        api_v2_key: str | None = None,
        api_v3_key: str | None = None,
        merchant_serial_no: str | None = None,
        merchant_private_key_pem: str | None = None,
        merchant_public_key_pem: str | None = None,
        wechatpay_public_key_id: str | None = None,
        wechatpay_private_key_pem: str | None = None,
        platform_private_key_pem: str | None = None,
    ) -> dict[str, Any]:
        """Register a merchant with fresh keys (or the given ones); returns the sandbox JSON.

        ``key_mode="public_key"`` (default, like every new merchant) has no platform
        certificate: ``platform_serial_no`` and ``platform_certificate_pem`` are null and
        ``/v3/certificates`` answers 404. ``"certificate"`` has both a platform certificate
        (used by default) and a WeChat Pay public key (used when a request names it).
        A merchant may register only its public key (``merchant_public_key_pem``); its
        private key is then null in the answer. ValueError on a bad or duplicate value.
        """
        merchant = new_merchant(
            self.state,
            wall_now=self.wall_clock(),
            business_now=self.clock.now(),
            key_mode=key_mode,
            name=name,
            refund_notify_url=refund_notify_url,
            mchid=mchid,
            appid=appid,
            app_secret=app_secret,
            api_v2_key=api_v2_key,
            api_v3_key=api_v3_key,
            merchant_serial_no=merchant_serial_no,
            merchant_private_key_pem=merchant_private_key_pem,
            merchant_public_key_pem=merchant_public_key_pem,
            wechatpay_public_key_id=wechatpay_public_key_id,
            wechatpay_private_key_pem=wechatpay_private_key_pem,
            platform_private_key_pem=platform_private_key_pem,
        )
        self.state.merchants[merchant.mchid] = merchant
        self.touch()
        return merchant.public_json()

    def merchant(self, mchid: str) -> dict[str, Any] | None:
        found = self.state.merchants.get(mchid)
        return found.public_json() if found is not None else None

    def merchants(self) -> list[dict[str, Any]]:
        return [m.public_json() for m in self.state.merchants.values()]

    # -- users, payment, refunds ----------------------------------------------------------

    def login_code(
        self, appid: str, openid: str | None = None, *, blocked: bool = False
    ) -> dict[str, Any]:
        """What ``wx.login`` gives a sandbox user: ``{"code", "openid"}`` (LoginError if the
        appid is unknown or the openid belongs to another appid)."""
        result = self.logins.issue(appid, openid, blocked=blocked)
        self.touch()
        return result

    def request_payment(self, params: dict[str, Any]) -> dict[str, str]:
        """``POST /sandbox/requestPayment`` in-process: ``{"errMsg": ...}``."""
        return self.cashier.request_payment(params)

    def pay(self, mchid: str, out_trade_no: str, *, openid: str | None = None) -> dict[str, Any]:
        """Mark an order paid without a paySign (sandbox shortcut); its transaction JSON.

        BusinessError (ORDER_NOT_FOUND / ORDER_PAID / ORDER_CLOSED) when it cannot be paid.
        """
        order = self.payments.get_order(mchid, out_trade_no=out_trade_no)
        self.payments.pay(order, openid)
        self.touch()
        return transaction_json(order, for_query=True)

    def complete_refund(
        self, out_refund_no: str, status: str = "SUCCESS", *, mchid: str | None = None
    ) -> dict[str, Any]:
        """Finish a refund now with SUCCESS, CLOSED or ABNORMAL; its refund JSON.

        LookupError when unknown (or ambiguous without ``mchid``); BusinessError
        REFUND_FINAL when it is already SUCCESS/CLOSED; ValueError on a bad status.
        """
        refund = self.find_refund(out_refund_no, mchid)
        self.payments.complete_refund(refund, status)
        self.touch()
        return refund_json(refund)

    def find_refund(self, out_refund_no: str, mchid: str | None = None) -> Refund:
        """The refund with that number (LookupError if unknown, or ambiguous without mchid)."""
        return self.payments.find_refund(out_refund_no, mchid)

    def find_order(self, mchid: str, out_trade_no: str) -> Order:
        """The order (LookupError if unknown)."""
        return self.payments.find_order(mchid, out_trade_no)

    # -- time and notifications -----------------------------------------------------------

    def now(self) -> float:
        """Business time, unix seconds."""
        return self.clock.now()

    def clock_json(self) -> dict[str, Any]:
        now = self.clock.now()
        return {
            "now": format_rfc3339(now),
            "unix": now,
            "offset_seconds": getattr(self.clock, "offset", None),
            "wall_unix": self.wall_clock(),
        }

    def advance_clock(self, seconds: float) -> float:
        """Move business time forward (ValueError if negative); returns the new time.

        Due work (refund completion, notification attempts) then runs in the background; await
        ``deliver_due()`` to wait for it.
        """
        self.clock.advance(seconds)
        self.touch()
        self.kick()
        return self.clock.now()

    def tick(self) -> None:
        """Apply business time: refunds whose delay has passed succeed (and are announced)."""
        if self.payments.tick() | self.shipping.tick():
            self.touch()

    async def deliver_due(self) -> int:
        """Run every notification attempt that is due now (catching up a moved clock)."""
        made = await self.notifier.deliver_due()
        made += await self.pushes.deliver_due()
        if made:
            self.touch()
        self.save_if_dirty()
        return made

    def deliveries(self, **filters: str) -> list[dict[str, Any]]:
        """Every delivery attempt so far (``GET /sandbox/notifications``), oldest first."""
        unknown = set(filters) - set(_ATTEMPT_FILTERS)
        if unknown:
            raise ValueError(f"unknown filters: {', '.join(sorted(unknown))}")
        return [
            attempt_json(a)
            for a in self.state.attempts
            if all(getattr(a, k) == v for k, v in filters.items() if v)
        ]

    def outbox(self) -> list[dict[str, Any]]:
        return self.notifier.outbox()

    async def send_notification(
        self,
        mchid: str,
        *,
        event_type: str,
        out_trade_no: str | None = None,
        out_refund_no: str | None = None,
        resource_overrides: dict[str, Any] | None = None,
        url: str | None = None,
        api: str | None = None,
    ) -> dict[str, Any]:
        """Deliver one correctly signed notification now (``/sandbox/notifications/send``).

        LookupError for an unknown merchant, order or refund; ValueError when the event does
        not fit (TRANSACTION.* needs ``out_trade_no``, REFUND.* ``out_refund_no``) or no URL.
        """
        merchant = self.state.merchants.get(mchid)
        if merchant is None:
            raise LookupError(f"no merchant {mchid}")
        order, refund, target, chosen_api = self.payments.notification_subject(
            mchid, event_type, out_trade_no=out_trade_no, out_refund_no=out_refund_no
        )
        target = url or target
        if not target:
            raise ValueError("no notify URL: give url")
        chosen_api = api or chosen_api
        if chosen_api not in ("v3", "v2"):
            raise ValueError("api must be v3 or v2")
        attempt = await self.notifier.send_once(
            merchant,
            event_type,
            order,
            refund,
            api=chosen_api,
            url=target,
            overrides=resource_overrides,
        )
        self.touch()
        self.save_if_dirty()
        return attempt_json(attempt)

    # -- faults ---------------------------------------------------------------------------

    def set_faults(self, settings: dict[str, Any]) -> dict[str, Any]:
        """``PUT /sandbox/faults``; FaultError on bad input, LookupError on unknown mchid."""
        mchid = settings.get("mchid")
        if mchid is not None and str(mchid) not in self.state.merchants:
            raise LookupError(f"no merchant {mchid}")
        shown = self.faults.put(settings)
        self._store_faults()
        return shown

    def clear_faults(self, mchid: str | None = None) -> dict[str, Any]:
        self.faults.clear(mchid)
        self._store_faults()
        return self.faults.to_json()

    def _store_faults(self) -> None:
        self.state.faults = self.faults.to_json()
        self.touch()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the background delivery loop (idempotent)."""
        if self._loop_task is not None and not self._loop_task.done():
            return
        self._wake = asyncio.Event()
        self._loop_task = asyncio.create_task(self._run(), name="mppay-emulator-delivery")

    async def stop(self) -> None:
        """Stop the loop and any pump started by requests; save the state file."""
        task, self._loop_task = self._loop_task, None
        pending = [t for t in (task, *self._spawned) if t is not None]
        for t in pending:
            t.cancel()
        for t in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._spawned.clear()
        await self.notifier.aclose()
        self.save_if_dirty()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Emulator]:
        """``async with emulator.running():`` the delivery loop runs inside the block."""
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await self.deliver_due()
            except Exception:
                log.exception("notification delivery failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.2)
            self._wake.clear()

    def kick(self) -> None:
        """Make due work progress: wake the loop, or (no loop, e.g. under ASGITransport) run a
        pump in the background of the current event loop."""
        if self._loop_task is not None and not self._loop_task.done():
            if self._wake is not None:
                self._wake.set()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self.notifier.busy():
            return
        task = loop.create_task(self.deliver_due())
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    # -- persistence ----------------------------------------------------------------------

    def touch(self) -> None:
        """Mark the state changed (saved at the end of the request)."""
        self._dirty = True

    def save_if_dirty(self) -> None:
        if self._dirty:
            self.save()

    def save(self) -> None:
        """Write the state file now (no-op without one)."""
        self._dirty = False
        if self.state_file is None:
            return
        self.state.clock_offset = float(getattr(self.clock, "offset", 0.0))
        self.state.faults = self.faults.to_json()
        self.state.save(self.state_file)
