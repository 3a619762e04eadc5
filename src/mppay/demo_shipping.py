"""The shipping steps of ``mppay demo`` (发货信息管理), after the payment and the refund:

- the emulator's shipping rules: a just-paid payment is invisible to WeChat's shipping API
  for about a minute; the sandbox skips the wait (``PUT /sandbox/shipping/settings``);
- ``POST /admin/api/orders/{id}/shipments`` (Idempotency-Key): the operator ships; the
  worker uploads it (``upload_shipping_info``), WeChat pushes the shipped event;
- the buyer confirms receipt (``POST /sandbox/shipping/{transaction_id}/confirm``, what
  ``wx.openBusinessView('weappOrderConfirm')`` does), WeChat settles and pushes
  ``trade_manage_order_settlement`` (safe mode, captured on the way in);
- ``GET /api/orders/{id}`` -> ``shipping.state`` SETTLED.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mppay.jobs.handlers import HANDLERS
from mppay.jobs.worker import Worker

if TYPE_CHECKING:
    from mppay.demo import _Demo

__all__ = ["run_shipping_steps"]

_SHIPPING_FIELDS = ("state", "logistics_type", "tracking", "express_company", "tracking_no")


async def _run_jobs(demo: _Demo) -> None:
    # The demo runs no background worker: due jobs run here, when the story needs them.
    await Worker(demo.stack.service.ctx, HANDLERS).run_until_idle()


async def run_shipping_steps(demo: _Demo, order_id: str, user: dict[str, str]) -> None:
    from mppay.demo import DemoFailed

    admin = {"Authorization": f"Bearer {demo.admin_token}"}
    demo.step(
        "Shipping rules of the sandbox",
        "WeChat hides a just-paid payment from its shipping API for about a minute (10060001); "
        "the sandbox skips that wait",
    )
    await demo.call(
        "PUT",
        f"{demo.emulator}/sandbox/shipping/settings",
        expect=200,
        body={"visible_delay_seconds": 0},
        keep=("visible_delay_seconds", "auto_confirm_days"),
    )
    await _run_jobs(demo)  # shipping.start, written with the PAID transition

    demo.step(
        "Ship the order",
        "the operator uploads the express tracking number; money stays frozen until shipped",
    )
    seen = len(demo.notifications)
    await demo.call(
        "POST",
        f"{demo.service}/admin/api/orders/{order_id}/shipments",
        expect=202,
        body={"packages": [{"express_company": "YTO", "tracking_no": "YT2026DEMO"}]},
        headers={**admin, "Idempotency-Key": f"demo-ship-{order_id}"},
        keep=("order_id", "shipping", *_SHIPPING_FIELDS, "request", "kind", "status"),
    )
    await _run_jobs(demo)  # shipping.upload -> upload_shipping_info
    shipped = await demo.call(
        "GET",
        f"{demo.service}/api/orders/{order_id}/shipping",
        expect=200,
        headers=user,
        keep=_SHIPPING_FIELDS,
    )
    if shipped.get("state") != "UPLOADED":
        raise DemoFailed(f"the shipment was not uploaded: {shipped}")
    demo.show_notification(await demo.notification("/wechat/message-push", seen))

    demo.step(
        "The buyer confirms receipt",
        "wx.openBusinessView('weappOrderConfirm') in WeChat; WeChat settles and pushes",
    )
    order: Any = await demo.call(
        "GET", f"{demo.service}/api/orders/{order_id}", expect=200, headers=user, quiet=True
    )
    seen = len(demo.notifications)
    await demo.call(
        "POST",
        f"{demo.emulator}/sandbox/shipping/{order['transaction_id']}/confirm",
        expect=200,
        keep=("order_state", "transaction_id"),
    )
    demo.show_notification(await demo.notification("/wechat/message-push", seen))

    demo.step("Settled", "the service's word: the settlement push moved the shipment on")

    async def settled() -> Any:
        found = await demo.call(
            "GET", f"{demo.service}/api/orders/{order_id}", expect=200, headers=user, quiet=True
        )
        shipping = found.get("shipping") or {}
        return found if shipping.get("state") == "SETTLED" else None

    final = await demo.wait_for("the shipment to settle", settled)
    demo.show_request("GET", f"{demo.service}/api/orders/{order_id}", user, None)
    demo.show_response(200, final.get("shipping"), _SHIPPING_FIELDS)
