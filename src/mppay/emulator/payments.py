"""The order and refund state machine, shared by v3, v2 and the sandbox (protocol-neutral).

```
            prepay                 pay (requestPayment confirm / sandbox pay)
  (none) ----------> NOTPAY ------------------------------------------> SUCCESS
                       |  close / time_expire passed                      | refund accepted
                       v                                                  v
                     CLOSED                                             REFUND (stays)
  refund:  PROCESSING --(delay on the business clock, or sandbox)--> SUCCESS | CLOSED
           PROCESSING / ABNORMAL --(sandbox)--> SUCCESS | CLOSED | ABNORMAL
```

Every refusal is a ``BusinessError`` whose ``kind`` v3 and v2 translate into their own codes.
Every state change that WeChat announces calls ``on_event(event_type, order, refund)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import ids
from .clock import BusinessClock
from .errors import BusinessError
from .state import EmulatorState, Merchant, Order, Prepay, Refund

__all__ = ["KINDS", "PREPAY_TTL", "OrderRequest", "Payments", "RefundRequest"]

PREPAY_TTL = 2 * 3600
DEFAULT_ORDER_LIFE = 7 * 86400
MAX_ORDER_LIFE = 90 * 86400
MIN_ORDER_LIFE = 60
MAX_REFUNDS = 50
REFUND_WINDOW = 365 * 86400

KINDS = frozenset(
    {
        "APPID_MISMATCH",  # appid not bound to the merchant
        "OPENID_MISMATCH",  # openid issued under another appid
        "OUT_TRADE_NO_CONFLICT",  # same out_trade_no, different parameters
        "ORDER_PAID",
        "ORDER_CLOSED",
        "ORDER_NOT_FOUND",
        "ORDER_UNPAID",  # refund of an order that was never paid
        "CLOSE_TOO_EARLY",  # v2: close within 5 minutes of creation
        "REFUND_NOT_FOUND",
        "REFUND_CONFLICT",  # same out_refund_no, different parameters
        "REFUND_TOTAL_MISMATCH",  # amount.total differs from the order's total
        "REFUND_EXCEEDS",  # more than what is left to refund
        "REFUND_FULL",  # nothing left to refund
        "REFUND_LIMIT",  # more than 50 refunds
        "TRADE_OVERDUE",  # paid more than a year ago
        "REFUND_FINAL",  # sandbox completion of a refund already SUCCESS/CLOSED
        "NOT_ENOUGH",  # the merchant's balance cannot cover the refund (a scenario arms it)
    }
)

Listener = Callable[[str, Order, Refund | None], None]


@dataclass(frozen=True)
class OrderRequest:
    """What a prepay call asks for; ``fingerprint`` is the caller's canonical form of its body
    (minus ``time_expire``, which WeChat fixes at the first order) for the "same parameters?"
    test of a repeated ``out_trade_no``."""

    appid: str
    out_trade_no: str
    description: str
    total: int
    currency: str
    openid: str
    notify_url: str
    attach: str
    time_expire: float | None
    fingerprint: str
    device_info: str = ""


@dataclass(frozen=True)
class RefundRequest:
    out_refund_no: str
    refund: int
    total: int
    fingerprint: str
    out_trade_no: str | None = None
    transaction_id: str | None = None
    currency: str = "CNY"
    reason: str = ""
    notify_url: str | None = None


class Payments:
    def __init__(
        self,
        state: EmulatorState,
        clock: BusinessClock,
        *,
        refund_delay_seconds: float,
        on_event: Listener,
    ) -> None:
        self.state = state
        self.clock = clock
        self.refund_delay_seconds = refund_delay_seconds
        # (mchid, out_trade_no) whose next new refund is refused NOT_ENOUGH (scenario; in memory).
        self.short_of_balance: set[tuple[str, str]] = set()
        self._on_event = on_event

    def now(self) -> float:
        return self.clock.now()

    # -- orders ---------------------------------------------------------------------------

    def prepay(
        self, merchant: Merchant, request: OrderRequest, *, api: str, sign_type: str
    ) -> tuple[Order, str]:
        """Create the order (or find the identical one) and return a prepay id valid 2 hours."""
        if request.appid != merchant.appid:
            raise BusinessError("APPID_MISMATCH", "appid和mch_id不匹配")
        owner = self.state.users.get(request.openid)
        if owner is not None and owner != request.appid:
            raise BusinessError("OPENID_MISMATCH", "appid和openid不匹配")
        now = self.now()
        order = self.state.order(merchant.mchid, request.out_trade_no)
        if order is not None:
            self.refresh(order)
            if order.trade_state == "CLOSED":
                raise BusinessError("ORDER_CLOSED", "订单已关闭")
            if order.trade_state in ("SUCCESS", "REFUND"):
                raise BusinessError("ORDER_PAID", "该订单已支付")
            if order.fingerprint != request.fingerprint or order.api != api:
                raise BusinessError("OUT_TRADE_NO_CONFLICT", "201 商户订单号重复")
        else:
            life: float = DEFAULT_ORDER_LIFE
            if request.time_expire is not None:
                life = min(max(request.time_expire - now, MIN_ORDER_LIFE), MAX_ORDER_LIFE)
            order = Order(
                mchid=merchant.mchid,
                appid=request.appid,
                out_trade_no=request.out_trade_no,
                api=api,
                sign_type=sign_type,
                description=request.description,
                total=request.total,
                currency=request.currency,
                openid=request.openid,
                notify_url=request.notify_url,
                attach=request.attach,
                fingerprint=request.fingerprint,
                created_at=now,
                time_expire=now + life,
                device_info=request.device_info,
            )
            self.state.orders[self.state.key(merchant.mchid, request.out_trade_no)] = order
        for prepay in reversed(order.prepays):
            if prepay.expires_at > now:
                return order, prepay.prepay_id
        prepay = Prepay(prepay_id=ids.prepay_id(now), expires_at=now + PREPAY_TTL)
        order.prepays.append(prepay)
        return order, prepay.prepay_id

    def refresh(self, order: Order) -> Order:
        """Apply what time does to an order: an unpaid order past ``time_expire`` is closed."""
        if order.trade_state == "NOTPAY" and self.now() >= order.time_expire:
            order.trade_state = "CLOSED"
        return order

    def get_order(
        self, mchid: str, *, out_trade_no: str | None = None, transaction_id: str | None = None
    ) -> Order:
        """The order by transaction id (preferred) or out_trade_no; ORDER_NOT_FOUND otherwise."""
        order = None
        if transaction_id:
            order = self.state.order_by_transaction(mchid, transaction_id)
        elif out_trade_no:
            order = self.state.order(mchid, out_trade_no)
        if order is None:
            raise BusinessError("ORDER_NOT_FOUND", "订单不存在")
        return self.refresh(order)

    def close(self, mchid: str, out_trade_no: str, *, min_age: float = 0) -> Order:
        """Close an unpaid order. Closing a closed order is not an error here (v3 answers 204);
        v2 checks ``trade_state`` itself before calling."""
        order = self.get_order(mchid, out_trade_no=out_trade_no)
        if order.trade_state in ("SUCCESS", "REFUND"):
            raise BusinessError("ORDER_PAID", "订单已支付")
        if order.trade_state == "NOTPAY" and self.now() - order.created_at < min_age:
            raise BusinessError(
                "CLOSE_TOO_EARLY", "订单生成后不能马上调用关单接口，最短调用时间间隔为5分钟"
            )
        order.trade_state = "CLOSED"
        return order

    def pay(
        self, order: Order, openid: str | None = None, *, even_if_closed: bool = False
    ) -> Order:
        """The user paid: SUCCESS, a transaction id, and a TRANSACTION.SUCCESS notification.

        ``even_if_closed`` (scenarios only): a payment begun before the close or the expiry
        completes after it, which WeChat's own record then shows as paid.
        """
        self.refresh(order)
        if order.trade_state in ("SUCCESS", "REFUND"):
            raise BusinessError("ORDER_PAID", "该订单已支付")
        if order.trade_state == "CLOSED" and not even_if_closed:
            raise BusinessError("ORDER_CLOSED", "该订单已关闭")
        now = self.now()
        order.trade_state = "SUCCESS"
        order.transaction_id = ids.transaction_id(now)
        order.success_time = now
        if openid:
            order.openid = openid
        self._on_event("TRANSACTION.SUCCESS", order, None)
        return order

    # -- refunds --------------------------------------------------------------------------

    def refund(self, merchant: Merchant, request: RefundRequest, *, api: str) -> Refund:
        """Accept a refund (PROCESSING) or return the one already made under the same number."""
        order = self.get_order(
            merchant.mchid,
            out_trade_no=request.out_trade_no,
            transaction_id=request.transaction_id,
        )
        existing = self.state.refund(merchant.mchid, request.out_refund_no)
        if existing is not None:
            if existing.fingerprint != request.fingerprint or existing.out_trade_no != (
                order.out_trade_no
            ):
                raise BusinessError("REFUND_CONFLICT", "退款单号已存在，但请求参数与原请求不一致")
            return existing
        if order.trade_state not in ("SUCCESS", "REFUND") or order.transaction_id is None:
            raise BusinessError("ORDER_UNPAID", "订单未支付")
        now = self.now()
        if request.total != order.total:
            raise BusinessError(
                "REFUND_TOTAL_MISMATCH", "订单金额或退款金额与之前请求不一致，请核实后再试"
            )
        if order.success_time is not None and now - order.success_time > REFUND_WINDOW:
            raise BusinessError("TRADE_OVERDUE", "订单已经超过可退款的最大期限")
        if len(order.refund_nos) >= MAX_REFUNDS:
            raise BusinessError("REFUND_LIMIT", "订单退款次数超过50次，不能再退款")
        if order.refundable <= 0:
            raise BusinessError("REFUND_FULL", "订单已全额退款")
        if request.refund > order.refundable:
            raise BusinessError("REFUND_EXCEEDS", "申请退款金额超过订单可退金额")
        if (merchant.mchid, order.out_trade_no) in self.short_of_balance:
            self.short_of_balance.discard((merchant.mchid, order.out_trade_no))
            raise BusinessError("NOT_ENOUGH", "基本账户余额不足，请充值后重新发起")
        refund = Refund(
            mchid=merchant.mchid,
            out_refund_no=request.out_refund_no,
            refund_id=ids.refund_id(now),
            out_trade_no=order.out_trade_no,
            transaction_id=order.transaction_id,
            refund=request.refund,
            total=order.total,
            currency=request.currency,
            reason=request.reason,
            notify_url=request.notify_url or merchant.refund_notify_url,
            api=api,
            fingerprint=request.fingerprint,
            created_at=now,
            due_at=now + self.refund_delay_seconds,
        )
        self.state.refunds[self.state.key(merchant.mchid, request.out_refund_no)] = refund
        order.refunded += request.refund
        order.refund_nos.append(request.out_refund_no)
        order.trade_state = "REFUND"
        return refund

    def get_refund(self, mchid: str, out_refund_no: str) -> Refund:
        refund = self.state.refund(mchid, out_refund_no)
        if refund is None:
            raise BusinessError("REFUND_NOT_FOUND", "退款单不存在")
        return refund

    def refunds_of(self, order: Order) -> list[Refund]:
        found = (self.state.refund(order.mchid, no) for no in order.refund_nos)
        return [refund for refund in found if refund is not None]

    def complete_refund(self, refund: Refund, status: str) -> Refund:
        """Finish a refund as SUCCESS, CLOSED (money back to refundable) or ABNORMAL."""
        if refund.status in ("SUCCESS", "CLOSED"):
            raise BusinessError("REFUND_FINAL", f"退款单已是终态 {refund.status}")
        if status not in ("SUCCESS", "CLOSED", "ABNORMAL"):
            raise ValueError(f"unknown refund outcome {status!r}")
        refund.status = status
        refund.due_at = None
        if status == "SUCCESS":
            refund.success_time = self.now()
        order = self.state.order(refund.mchid, refund.out_trade_no)
        assert order is not None
        if status == "CLOSED":
            order.refunded -= refund.refund
        self._on_event(f"REFUND.{status}", order, refund)
        return refund

    def find_order(self, mchid: str, out_trade_no: str) -> Order:
        """Like ``get_order`` but LookupError (for the sandbox helpers)."""
        try:
            return self.get_order(mchid, out_trade_no=out_trade_no)
        except BusinessError:
            raise LookupError(f"no order {out_trade_no} at merchant {mchid}") from None

    def find_refund(self, out_refund_no: str, mchid: str | None = None) -> Refund:
        """The refund with that number; LookupError if unknown, or ambiguous without mchid."""
        matches = [
            r
            for r in self.state.refunds.values()
            if r.out_refund_no == out_refund_no and (mchid is None or r.mchid == mchid)
        ]
        if not matches:
            raise LookupError(f"no refund {out_refund_no}")
        if len(matches) > 1:
            raise LookupError(f"refund {out_refund_no} exists at several merchants; give mchid")
        return matches[0]

    def notification_subject(
        self,
        mchid: str,
        event_type: str,
        *,
        out_trade_no: str | None,
        out_refund_no: str | None,
    ) -> tuple[Order, Refund | None, str, str]:
        """(order, refund, default URL, default api) an event is about.

        ValueError when the event does not fit (TRANSACTION.* needs ``out_trade_no``, REFUND.*
        ``out_refund_no``); LookupError when the order or refund is unknown.
        """
        if event_type == "TRANSACTION.SUCCESS":
            if not out_trade_no:
                raise ValueError("TRANSACTION.SUCCESS needs out_trade_no")
            order = self.find_order(mchid, out_trade_no)
            return order, None, order.notify_url, order.api
        if event_type in ("REFUND.SUCCESS", "REFUND.CLOSED", "REFUND.ABNORMAL"):
            if not out_refund_no:
                raise ValueError(f"{event_type} needs out_refund_no")
            refund = self.find_refund(out_refund_no, mchid)
            order = self.find_order(mchid, refund.out_trade_no)
            return order, refund, refund.notify_url or "", refund.api
        raise ValueError(
            "event_type must be TRANSACTION.SUCCESS, REFUND.SUCCESS, REFUND.CLOSED or "
            "REFUND.ABNORMAL"
        )

    def tick(self) -> int:
        """Complete the refunds whose delay has passed on the business clock; how many."""
        now = self.now()
        due = [r for r in self.state.refunds.values() if r.due_at is not None and r.due_at <= now]
        for refund in sorted(due, key=lambda r: (r.due_at or 0.0, r.created_at)):
            self.complete_refund(refund, "SUCCESS")
        return len(due)
