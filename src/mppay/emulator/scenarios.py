"""Named scenarios: ``POST /sandbox/scenarios/{name}`` makes one hard case happen on demand.

Each scenario is a deterministic composition of what the emulator already does (pay an order,
send a notification, finish a refund); none uses the random fault knobs. The body names the
subject: ``{"mchid", "out_trade_no"}`` for payment scenarios, ``{"mchid", "out_refund_no"}``
for refund ones. The answer says what was done; the service's reaction shows in its timeline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import BusinessError

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["SCENARIOS", "Scenario", "ScenarioError", "run_scenario"]

# A storm is this many identical deliveries of one notification (the service must apply one).
STORM_SIZE = 5


class ScenarioError(Exception):
    """The scenario cannot run on this subject: ``status`` 400, 404 or 409."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


Runner = Callable[["Emulator", str, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Scenario:
    name: str
    subject: str  # "out_trade_no" | "out_refund_no"
    summary: str  # one line: what happens and what the service should end up showing
    run: Runner


def _pay(emu: Emulator, mchid: str, out_trade_no: str) -> None:
    try:
        emu.pay(mchid, out_trade_no)
    except BusinessError as exc:
        status = 404 if exc.kind == "ORDER_NOT_FOUND" else 409
        raise ScenarioError(status, exc.message) from None


async def _send(emu: Emulator, mchid: str, event: str, **subject: Any) -> dict[str, Any]:
    try:
        return await emu.send_notification(mchid, event_type=event, **subject)
    except LookupError as exc:
        raise ScenarioError(404, str(exc.args[0])) from None
    except ValueError as exc:
        raise ScenarioError(409, str(exc)) from None


async def _payment_succeeded(emu: Emulator, mchid: str, body: dict[str, Any]) -> dict[str, Any]:
    _pay(emu, mchid, body["out_trade_no"])
    delivered = await emu.deliver_due()
    return {"paid": True, "delivered": delivered}


async def _notification_dropped(emu: Emulator, mchid: str, body: dict[str, Any]) -> dict[str, Any]:
    out_trade_no = body["out_trade_no"]
    _pay(emu, mchid, out_trade_no)
    dropped = emu.notifier.drop_pending(mchid, out_trade_no)
    return {"paid": True, "dropped": dropped}


async def _duplicate_storm(emu: Emulator, mchid: str, body: dict[str, Any]) -> dict[str, Any]:
    out_trade_no = body["out_trade_no"]
    _pay(emu, mchid, out_trade_no)
    emu.notifier.drop_pending(mchid, out_trade_no)
    sent = [
        await _send(emu, mchid, "TRANSACTION.SUCCESS", out_trade_no=out_trade_no)
        for _ in range(STORM_SIZE)
    ]
    return {"paid": True, "sent": len(sent), "acknowledged": _acked(sent)}


async def _amount_mismatch(emu: Emulator, mchid: str, body: dict[str, Any]) -> dict[str, Any]:
    out_trade_no = body["out_trade_no"]
    order = emu.find_order(mchid, out_trade_no)
    wrong = 1 if order.total != 1 else 2
    attempt = await _send(
        emu,
        mchid,
        "TRANSACTION.SUCCESS",
        out_trade_no=out_trade_no,
        resource_overrides=(
            {"total_fee": wrong, "cash_fee": wrong}
            if order.api == "v2"
            else {"amount": {"total": wrong, "payer_total": wrong}}
        ),
    )
    return {"paid": False, "notified_total": wrong, "acknowledged": _acked([attempt])}


async def _signtest_probe(emu: Emulator, mchid: str, body: dict[str, Any]) -> dict[str, Any]:
    out_trade_no = body["out_trade_no"]
    if emu.find_order(mchid, out_trade_no).api != "v3":
        raise ScenarioError(409, "SIGNTEST probes exist only for API v3 notifications")
    _pay(emu, mchid, out_trade_no)
    probed = await emu.notifier.probe_pending(mchid, out_trade_no)
    delivered = await emu.deliver_due()
    return {"paid": True, "probed": probed, "delivered": delivered}


async def _payment_after_close(emu: Emulator, mchid: str, body: dict[str, Any]) -> dict[str, Any]:
    order = emu.find_order(mchid, body["out_trade_no"])
    if order.trade_state != "CLOSED":
        raise ScenarioError(409, f"the order is {order.trade_state}: close (cancel) it first")
    # The payer's payment went through just as the close did; WeChat's record now says paid.
    emu.payments.pay(order, even_if_closed=True)
    delivered = await emu.deliver_due()
    return {"paid": True, "delivered": delivered}


async def _late_payment_after_expiry(
    emu: Emulator, mchid: str, body: dict[str, Any]
) -> dict[str, Any]:
    order = emu.payments.refresh(emu.find_order(mchid, body["out_trade_no"]))
    if order.trade_state not in ("NOTPAY", "CLOSED"):
        raise ScenarioError(409, f"the order is {order.trade_state}, not unpaid")
    if emu.now() < order.time_expire:
        wait = int(order.time_expire - emu.now()) + 1
        raise ScenarioError(409, f"the order expires in {wait} s: `mppay clock advance {wait}s`")
    # A payment the payer began before time_expire completes after it.
    emu.payments.pay(order, even_if_closed=True)
    delivered = await emu.deliver_due()
    return {
        "paid": True,
        "late_by_seconds": int(emu.now() - order.time_expire),
        "delivered": delivered,
    }


async def _out_of_order(emu: Emulator, mchid: str, body: dict[str, Any]) -> dict[str, Any]:
    order = emu.find_order(mchid, body["out_trade_no"])
    if order.trade_state not in ("SUCCESS", "REFUND") or not order.refund_nos:
        raise ScenarioError(409, "the order needs a payment and a refund first")
    # The payment's notification, long since superseded by the refund, arrives again now.
    attempt = await _send(emu, mchid, "TRANSACTION.SUCCESS", out_trade_no=order.out_trade_no)
    return {"sent": 1, "acknowledged": _acked([attempt])}


async def _refund_notenough(emu: Emulator, mchid: str, body: dict[str, Any]) -> dict[str, Any]:
    order = emu.find_order(mchid, body["out_trade_no"])
    if order.trade_state not in ("SUCCESS", "REFUND"):
        raise ScenarioError(409, f"the order is {order.trade_state}: it must be paid")
    emu.payments.short_of_balance.add((mchid, order.out_trade_no))
    return {"armed": True}


async def _bill_mismatch(emu: Emulator, mchid: str, body: dict[str, Any]) -> dict[str, Any]:
    order = emu.find_order(mchid, body["out_trade_no"])
    if order.trade_state not in ("SUCCESS", "REFUND"):
        raise ScenarioError(409, f"the order is {order.trade_state}: it must be paid")
    order.bill_total = order.total + 1
    return {"bill_total": order.bill_total, "total": order.total}


def _refund_finisher(status: str) -> Runner:
    async def run(emu: Emulator, mchid: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            refund = emu.complete_refund(body["out_refund_no"], status, mchid=mchid)
        except LookupError as exc:
            raise ScenarioError(404, str(exc.args[0])) from None
        except BusinessError as exc:
            raise ScenarioError(409, exc.message) from None
        delivered = await emu.deliver_due()
        return {"refund_status": refund["status"], "delivered": delivered}

    return run


def _acked(attempts: list[dict[str, Any]]) -> int:
    return sum(1 for attempt in attempts if attempt.get("outcome") == "success")


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "payment-succeeded",
            "out_trade_no",
            "the payer pays; the notification is delivered; the order becomes PAID",
            _payment_succeeded,
        ),
        Scenario(
            "notification-dropped",
            "out_trade_no",
            "the payer pays but no notification ever comes; the service finds it by querying",
            _notification_dropped,
        ),
        Scenario(
            "duplicate-storm",
            "out_trade_no",
            f"the payer pays and the notification arrives {STORM_SIZE} times; PAID exactly once",
            _duplicate_storm,
        ),
        Scenario(
            "amount-mismatch",
            "out_trade_no",
            "a correctly signed success with the wrong amount; order stays unpaid, needs review",
            _amount_mismatch,
        ),
        Scenario(
            "signtest-probe",
            "out_trade_no",
            "the payer pays; a SIGNTEST probe (bad signature) comes first; rejected, then PAID",
            _signtest_probe,
        ),
        Scenario(
            "payment-after-close",
            "out_trade_no",
            "a closed order is paid after all; PAID, flagged for review (refund or fulfil)",
            _payment_after_close,
        ),
        Scenario(
            "late-payment-after-expiry",
            "out_trade_no",
            "after `mppay clock advance` past time_expire, a payment begun in time completes",
            _late_payment_after_expiry,
        ),
        Scenario(
            "out-of-order",
            "out_trade_no",
            "a stale payment notification arrives after a refund; nothing moves back",
            _out_of_order,
        ),
        Scenario(
            "refund-notenough",
            "out_trade_no",
            "the next refund of this paid order is refused NOT_ENOUGH (balance); later ones work",
            _refund_notenough,
        ),
        Scenario(
            "bill-mismatch",
            "out_trade_no",
            "the day's trade bill shows this paid order 1 fen dearer; reconciliation flags it",
            _bill_mismatch,
        ),
        Scenario(
            "refund-succeeded",
            "out_refund_no",
            "a pending refund succeeds now and is announced; the order is refunded",
            _refund_finisher("SUCCESS"),
        ),
        Scenario(
            "refund-closed",
            "out_refund_no",
            "a pending refund is closed by WeChat; the money stays with the merchant",
            _refund_finisher("CLOSED"),
        ),
        Scenario(
            "refund-abnormal",
            "out_refund_no",
            "a pending refund fails (the payer's card is gone); it needs an operator",
            _refund_finisher("ABNORMAL"),
        ),
    )
}


async def run_scenario(emu: Emulator, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Run scenario ``name`` on the subject in ``body``; its report (ScenarioError if not)."""
    scenario = SCENARIOS.get(name)
    if scenario is None:
        raise ScenarioError(404, f"no scenario {name!r}; GET /sandbox/scenarios lists them")
    mchid = body.get("mchid")
    subject = body.get(scenario.subject)
    if not isinstance(mchid, str) or not mchid:
        raise ScenarioError(400, "mchid must be a non-empty string")
    if not isinstance(subject, str) or not subject:
        raise ScenarioError(400, f"{scenario.subject} must be a non-empty string")
    if emu.merchant(mchid) is None:
        raise ScenarioError(404, f"no merchant {mchid}")
    if scenario.subject == "out_trade_no":
        try:
            emu.find_order(mchid, subject)
        except LookupError:
            raise ScenarioError(404, f"no order {subject}") from None
    report = await scenario.run(emu, mchid, body)
    emu.touch()
    emu.save_if_dirty()
    return {"scenario": name, scenario.subject: subject, **report}
