"""Order-shipping management (发货信息管理) as WeChat runs it: tokens, uploads, states.

The rules (each one documented in the emulator README, guesses marked there):
- access tokens come from ``POST /cgi-bin/stable_token`` (normal mode returns the current token
  until 5 minutes before its end, then a new one while the old stays valid to its end;
  ``force_refresh`` voids the old one at once); every call checks its token: missing 41001,
  unknown or voided 40001, expired 42001;
- a payment is invisible to shipping for ``visible_delay_seconds`` after it was paid (10060001);
- an upload that completes shipping (unified, or split with ``is_all_delivered``) moves
  order_state 1 待发货 -> 2 已发货; one more such upload (the one correction) is allowed while
  the order is 2; a third is 10060003; after confirmation 10060004;
- upload_time must be RFC 3339 and later than the previous upload's;
- at most 15 packages per payment, across the partial uploads of a split delivery;
- 2 -> 3 确认收货 by the buyer (``/sandbox/shipping/{transaction_id}/confirm``) or automatically
  ``auto_confirm_days`` after shipping; 3 -> 4 交易完成 (settlement) ``settle_delay_seconds``
  later; a fully refunded payment becomes 5 已退款;
- pushes ``trade_manage_order_settlement`` when shipping completes (with
  ``estimated_settlement_time``) and at settlement; ``trade_manage_remind_shipping`` (and once
  per merchant ``trade_manage_remind_access_api``) when a paid order is unshipped after
  ``remind_after_seconds``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .access_tokens import AccessTokens, ShippingFailure
from .clock import BusinessClock, parse_rfc3339
from .shipping_state import ShippingRecord
from .state import EmulatorState, Merchant, Order

__all__ = ["MAX_PACKAGES", "Shipping", "ShippingFailure"]

MAX_PACKAGES = 15
_DAY = 86400.0


PushSink = Callable[[Merchant, str, str, dict[str, Any]], None]


class Shipping:
    def __init__(self, state: EmulatorState, clock: BusinessClock, push: PushSink) -> None:
        self.state = state
        self.clock = clock
        self._push = push
        self.tokens = AccessTokens(state, clock)
        self._scanned_at = float("-inf")

    @property
    def settings(self) -> Any:
        return self.state.shipping_settings

    # -- orders ---------------------------------------------------------------------------

    def _order(self, merchant: Merchant, key: Any, *, spelled: str) -> Order:
        """The paid order named by an order_key (upload) or get_order fields."""
        if not isinstance(key, dict):
            raise ShippingFailure(47001, "data format error")
        tid = key.get("transaction_id")
        if spelled == "upload":
            mchid, out_trade_no = key.get("mchid"), key.get("out_trade_no")
            if key.get("order_number_type") not in (1, 2):
                raise ShippingFailure(10060014, "参数错误: order_number_type")
            if key.get("order_number_type") == 1:
                tid = None
        else:
            mchid, out_trade_no = key.get("merchant_id"), key.get("merchant_trade_no")
        order = None
        if isinstance(tid, str) and tid:
            order = next(
                (
                    o
                    for o in self.state.orders.values()
                    if o.transaction_id == tid and o.appid == merchant.appid
                ),
                None,
            )
        elif isinstance(mchid, str) and isinstance(out_trade_no, str):
            found = self.state.order(mchid, out_trade_no)
            order = found if found is not None and found.appid == merchant.appid else None
        else:
            raise ShippingFailure(10060014, "参数错误: order_key")
        visible = order is not None and order.success_time is not None
        if order is None or not visible or not merchant.trade_managed:
            raise ShippingFailure(10060001, "支付单不存在")
        assert order.success_time is not None
        if self.clock.now() < order.success_time + self.settings.visible_delay_seconds:
            raise ShippingFailure(10060001, "支付单不存在")
        return order

    def record(self, order: Order) -> ShippingRecord:
        key = self.state.key(order.mchid, order.out_trade_no)
        record = self.state.shipping.get(key)
        if record is None:
            assert order.transaction_id is not None
            record = ShippingRecord(
                mchid=order.mchid,
                out_trade_no=order.out_trade_no,
                transaction_id=order.transaction_id,
            )
            self.state.shipping[key] = record
        return record

    def find(self, transaction_id: str) -> tuple[Order, ShippingRecord]:
        """LookupError when no paid order has this transaction_id."""
        for order in self.state.orders.values():
            if order.transaction_id == transaction_id and order.success_time is not None:
                return order, self.record(order)
        raise LookupError(f"no paid order {transaction_id}")

    # -- upload ---------------------------------------------------------------------------

    def upload(self, merchant: Merchant, body: dict[str, Any]) -> None:
        order = self._order(merchant, body.get("order_key"), spelled="upload")
        payer = body.get("payer")
        if not isinstance(payer, dict) or payer.get("openid") != order.openid:
            raise ShippingFailure(10060031, "该笔支付单不属于 openid 所指定的用户")
        self._apply(order, body, body.get("upload_time"))

    def upload_combined(self, merchant: Merchant, body: dict[str, Any]) -> None:
        subs = body.get("sub_orders")
        if not isinstance(subs, list) or not subs:
            raise ShippingFailure(47001, "data format error")
        payer = body.get("payer")
        for sub in subs:
            if not isinstance(sub, dict):
                raise ShippingFailure(47001, "data format error")
            order = self._order(merchant, sub.get("order_key"), spelled="upload")
            if not isinstance(payer, dict) or payer.get("openid") != order.openid:
                raise ShippingFailure(10060031, "该笔支付单不属于 openid 所指定的用户")
            self._apply(order, sub, body.get("upload_time"))

    def _apply(self, order: Order, body: dict[str, Any], upload_time: Any) -> None:
        record = self.record(order)
        logistics_type, mode = body.get("logistics_type"), body.get("delivery_mode")
        packages = body.get("shipping_list")
        if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
            raise ShippingFailure(47001, "data format error")
        if logistics_type not in (1, 2, 3, 4):
            raise ShippingFailure(10060005, "物流类型有误")
        if mode not in (1, 2):
            raise ShippingFailure(268485224, "发货模式非法")
        try:
            at = parse_rfc3339(upload_time) if isinstance(upload_time, str) else None
        except ValueError:
            at = None
        if at is None:
            raise ShippingFailure(268485216, "上传时间非法，请按照 RFC 3339 格式填写")
        split = mode == 2
        all_delivered = body.get("is_all_delivered")
        if split and logistics_type != 1:
            raise ShippingFailure(10060006, "非快递发货时不允许分拆发货")
        if split and not isinstance(all_delivered, bool):
            raise ShippingFailure(10060007, "分拆发货模式时必须填写 is_all_delivered 字段")
        if not packages or (not split and len(packages) != 1):
            raise ShippingFailure(10060014, "参数错误: shipping_list")
        for package in packages:
            desc = package.get("item_desc")
            if not isinstance(desc, str) or not desc:
                raise ShippingFailure(10060008, "商品描述字段不能为空")
            if len(desc) > 120:
                raise ShippingFailure(10060009, "商品描述字段不能超过 120 个字")
            if logistics_type == 1:
                if not package.get("tracking_no") or not package.get("express_company"):
                    raise ShippingFailure(10060014, "参数错误: tracking_no / express_company")
                if package.get("express_company") == "SF" and not package.get("contact"):
                    raise ShippingFailure(10060014, "参数错误: 顺丰快递需填写 contact")
        if record.order_state >= 3:  # confirmed, completed or refunded
            raise ShippingFailure(10060004, "支付单处于不可发货的状态")
        if record.completed_uploads >= 2:
            raise ShippingFailure(10060003, "支付单已使用重新发货机会")
        if record.last_upload_time is not None and at <= record.last_upload_time:
            raise ShippingFailure(10060023, "发货信息未更新: upload_time 须晚于上次上传")
        # A correction (the order is already 已发货) replaces the packages; a partial split
        # upload adds to them.
        correcting = record.order_state == 2
        kept = [] if correcting or not split else record.packages
        if len(kept) + len(packages) > MAX_PACKAGES:
            raise ShippingFailure(10060024, "物流信息列表过长")
        now = self.clock.now()
        stamped = [
            {
                "tracking_no": p.get("tracking_no", ""),
                "express_company": p.get("express_company", ""),
                "item_desc": p.get("item_desc", ""),
                "upload_time": int(now),
            }
            for p in packages
        ]
        record.packages = [*kept, *stamped]
        record.logistics_type = logistics_type
        record.delivery_mode = mode
        record.last_upload_time = at
        complete = not split or all_delivered is True
        if not complete:
            return
        record.completed_uploads += 1
        record.finish_shipping = True
        if record.order_state == 1:
            record.order_state = 2
            record.shipped_at = now
            self._announce(order, record, shipped=True)

    # -- buyer and time -------------------------------------------------------------------

    def confirm(self, transaction_id: str) -> ShippingRecord:
        """The buyer confirms receipt; LookupError (unknown) or ValueError (not shipped)."""
        _order, record = self.find(transaction_id)
        if record.order_state != 2:
            raise ValueError(f"order_state is {record.order_state}, not 2 (已发货)")
        record.order_state = 3
        record.confirmed_at = self.clock.now()
        record.confirm_method = 2
        self.tick(force=True)
        return record

    def tick(self, *, force: bool = False) -> bool:
        """Apply business time: auto-confirm, settlement, refunds, reminders. True if changed.

        The scan covers every paid order, so it runs at most once per business second (every
        request ticks) unless ``force``d by a change that must show at once.
        """
        now = self.clock.now()
        if not force and now < self._scanned_at + 1.0:
            return False
        self._scanned_at = now
        changed = False
        settings = self.settings
        for order in list(self.state.orders.values()):
            if order.success_time is None or order.transaction_id is None:
                continue
            merchant = self.state.merchants.get(order.mchid)
            if merchant is None or not merchant.trade_managed:
                continue
            record = self.record(order)
            if record.order_state in (1, 2, 3) and order.refunded >= order.total:
                record.order_state = 5
                changed = True
                continue
            auto_at = (record.shipped_at or 0) + settings.auto_confirm_days * _DAY
            if record.order_state == 2 and record.shipped_at is not None and now >= auto_at:
                record.order_state = 3
                record.confirmed_at = auto_at
                record.confirm_method = 1
                changed = True
            settle_at = (record.confirmed_at or 0) + settings.settle_delay_seconds
            if record.order_state == 3 and record.confirmed_at is not None and now >= settle_at:
                record.order_state = 4
                record.settled_at = now
                self._announce(order, record, shipped=False)
                changed = True
            if (
                record.order_state == 1
                and not record.reminded
                and now >= order.success_time + settings.remind_after_seconds
            ):
                record.reminded = True
                self._remind(merchant, order)
                changed = True
        return changed

    def _announce(self, order: Order, record: ShippingRecord, *, shipped: bool) -> None:
        merchant = self.state.merchants[order.mchid]
        fields: dict[str, Any] = {
            "transaction_id": record.transaction_id,
            "merchant_id": order.mchid,
            "sub_merchant_id": "",
            "merchant_trade_no": order.out_trade_no,
            "pay_time": int(order.success_time or 0),
            "shipped_time": int(record.shipped_at or 0),
        }
        if shipped:
            estimate = (record.shipped_at or 0) + self.settings.auto_confirm_days * _DAY
            fields["estimated_settlement_time"] = int(estimate)
        else:
            fields["confirm_receive_method"] = record.confirm_method or 1
            fields["confirm_receive_time"] = int(record.confirmed_at or 0)
            fields["settlement_time"] = int(record.settled_at or 0)
        self._push(merchant, "trade_manage_order_settlement", record.transaction_id, fields)

    def _remind(self, merchant: Merchant, order: Order) -> None:
        tid = order.transaction_id or ""
        if not any(
            r.reminded and r.mchid == merchant.mchid and r.out_trade_no != order.out_trade_no
            for r in self.state.shipping.values()
        ):
            msg = "你的小程序有订单未录入发货信息，请尽快接入发货信息录入接口"
            self._push(merchant, "trade_manage_remind_access_api", "", {"msg": msg})
        fields = {
            "transaction_id": tid,
            "merchant_id": order.mchid,
            "sub_merchant_id": "",
            "merchant_trade_no": order.out_trade_no,
            "pay_time": int(order.success_time or 0),
            "msg": "你有订单即将超过发货时效，请尽快发货",
        }
        self._push(merchant, "trade_manage_remind_shipping", tid, fields)

    # -- queries --------------------------------------------------------------------------

    def order_json(self, order: Order) -> dict[str, Any]:
        record = self.record(order)
        return {
            "transaction_id": record.transaction_id,
            "merchant_id": order.mchid,
            "sub_merchant_id": "",
            "merchant_trade_no": order.out_trade_no,
            "description": order.description,
            "paid_amount": order.total,
            "openid": order.openid,
            "trade_create_time": int(order.created_at),
            "pay_time": int(order.success_time or 0),
            "order_state": record.order_state,
            "in_complaint": False,
            "shipping": {
                "delivery_mode": record.delivery_mode or 1,
                "logistics_type": record.logistics_type or 0,
                "finish_shipping": record.finish_shipping,
                "goods_desc": "; ".join(p["item_desc"] for p in record.packages),
                "finish_shipping_count": record.completed_uploads,
                "shipping_list": [
                    {k: p[k] for k in ("tracking_no", "express_company", "upload_time")}
                    for p in record.packages
                ],
            },
        }

    def get_order(self, merchant: Merchant, body: dict[str, Any]) -> dict[str, Any]:
        return {"order": self.order_json(self._order(merchant, body, spelled="query"))}

    def get_order_list(self, merchant: Merchant, body: dict[str, Any]) -> dict[str, Any]:
        size = body.get("page_size", 100)
        if not isinstance(size, int) or not 1 <= size <= 100:
            raise ShippingFailure(10060014, "参数错误: page_size")
        state, openid = body.get("order_state"), body.get("openid")
        span = body.get("pay_time_range") or {}
        begin = span.get("begin_time", 0) if isinstance(span, dict) else 0
        end = span.get("end_time", 2**62) if isinstance(span, dict) else 2**62
        now = self.clock.now()
        delay = self.settings.visible_delay_seconds
        orders = sorted(
            (
                o
                for o in self.state.orders.values()
                if o.appid == merchant.appid
                and o.success_time is not None
                and now >= o.success_time + delay
                and begin <= o.success_time <= end
                and (openid in (None, "") or o.openid == openid)
            ),
            key=lambda o: (o.success_time or 0, o.out_trade_no),
        )
        rows = [self.order_json(o) for o in orders]
        if state is not None:
            rows = [r for r in rows if r["order_state"] == state]
        start = 0
        last = body.get("last_index")
        if isinstance(last, str) and last.isdigit():
            start = int(last)
        page = rows[start : start + size]
        return {
            "last_index": str(start + len(page)),
            "has_more": start + len(page) < len(rows),
            "order_list": page,
        }

    def confirm_receive_notice(self, merchant: Merchant, body: dict[str, Any]) -> None:
        order = self._order(merchant, body, spelled="query")
        if not isinstance(body.get("received_time"), int):
            raise ShippingFailure(10060014, "参数错误: received_time")
        if self.record(order).order_state != 2:
            raise ShippingFailure(10060004, "支付单处于不可发货的状态")
