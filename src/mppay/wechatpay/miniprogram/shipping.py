"""Typed requests and answers of WeChat's order-shipping management (发货信息管理).

Pure functions and values: building a request body never sends anything. The rules checked
here before sending are WeChat's documented ones (1-15 packages; split delivery names
``is_all_delivered``; express needs tracking number and company; SF Express needs a masked
contact; item_desc at most 120 characters); WeChat checks them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import IntEnum
from typing import Any

from mppay.wechatpay.errors import MalformedMessageError

__all__ = [
    "MAX_PACKAGES",
    "Contact",
    "DeliveryCompany",
    "DeliveryMode",
    "LogisticsType",
    "OrderKey",
    "OrderListPage",
    "OrderState",
    "Package",
    "ShippedPackage",
    "ShippingInfo",
    "ShippingOrder",
    "SubOrderShipping",
    "format_upload_time",
    "parse_order",
]

MAX_PACKAGES = 15
_BEIJING = timezone(timedelta(hours=8))
_SF_EXPRESS = "SF"


class LogisticsType(IntEnum):
    EXPRESS = 1
    LOCAL_DELIVERY = 2
    VIRTUAL = 3
    SELF_PICKUP = 4


class DeliveryMode(IntEnum):
    UNIFIED = 1  # UNIFIED_DELIVERY: one package
    SPLIT = 2  # SPLIT_DELIVERY: several packages, possibly over several uploads


class OrderState(IntEnum):
    WAITING_SHIPMENT = 1  # 待发货
    SHIPPED = 2  # 已发货
    CONFIRMED = 3  # 确认收货
    COMPLETED = 4  # 交易完成
    REFUNDED = 5  # 已退款
    SETTLEMENT_PENDING = 6  # 资金待结算


def format_upload_time(at: datetime) -> str:
    """RFC 3339 with milliseconds in Beijing time, as WeChat's examples write it.

    >>> from datetime import UTC
    >>> format_upload_time(datetime(2023, 9, 15, 9, 33, 21, 224000, tzinfo=UTC))
    '2023-09-15T17:33:21.224+08:00'
    """
    if at.tzinfo is None:
        raise ValueError("upload_time must be an aware datetime")
    return at.astimezone(_BEIJING).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class OrderKey:
    """Which payment: by WeChat's ``transaction_id`` (type 2) or ``mchid`` + ``out_trade_no`` (1)."""

    transaction_id: str | None = None
    mchid: str | None = None
    out_trade_no: str | None = None

    def __post_init__(self) -> None:
        if not self.transaction_id and not (self.mchid and self.out_trade_no):
            raise ValueError("an order key needs transaction_id, or mchid and out_trade_no")

    def to_dict(self) -> dict[str, Any]:
        if self.transaction_id:
            return {"order_number_type": 2, "transaction_id": self.transaction_id}
        return {"order_number_type": 1, "mchid": self.mchid, "out_trade_no": self.out_trade_no}

    def query_fields(self) -> dict[str, Any]:
        """The spelling of get_order / notify_confirm_receive (merchant_id, merchant_trade_no)."""
        if self.transaction_id:
            return {"transaction_id": self.transaction_id}
        return {"merchant_id": self.mchid, "merchant_trade_no": self.out_trade_no}


@dataclass(frozen=True)
class Contact:
    """Masked phone numbers (``189****1234``); required by SF Express."""

    consignor_contact: str | None = None
    receiver_contact: str | None = None

    def to_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.consignor_contact:
            out["consignor_contact"] = self.consignor_contact
        if self.receiver_contact:
            out["receiver_contact"] = self.receiver_contact
        return out


@dataclass(frozen=True)
class Package:
    """One entry of ``shipping_list``; virtual goods and pick-up carry only ``item_desc``."""

    item_desc: str
    tracking_no: str | None = None
    express_company: str | None = None
    contact: Contact | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"item_desc": self.item_desc}
        if self.tracking_no:
            out["tracking_no"] = self.tracking_no
        if self.express_company:
            out["express_company"] = self.express_company
        if self.contact is not None and self.contact.to_dict():
            out["contact"] = self.contact.to_dict()
        return out


def _check_packages(
    logistics_type: LogisticsType,
    delivery_mode: DeliveryMode,
    packages: tuple[Package, ...],
    is_all_delivered: bool | None,
) -> None:
    if not 1 <= len(packages) <= MAX_PACKAGES:
        raise ValueError(f"shipping_list needs 1 to {MAX_PACKAGES} packages")
    if delivery_mode is DeliveryMode.SPLIT:
        if is_all_delivered is None:
            raise ValueError("split delivery must say is_all_delivered")
        if logistics_type is not LogisticsType.EXPRESS:
            raise ValueError("only express delivery can be split")
    if delivery_mode is DeliveryMode.UNIFIED and len(packages) != 1:
        raise ValueError("unified delivery has exactly one package")
    for package in packages:
        if not package.item_desc or len(package.item_desc) > 120:
            raise ValueError("item_desc needs 1 to 120 characters")
        if logistics_type is LogisticsType.EXPRESS:
            if not package.tracking_no or not package.express_company:
                raise ValueError("express delivery needs tracking_no and express_company")
            if package.express_company == _SF_EXPRESS and package.contact is None:
                raise ValueError("SF Express needs a masked contact")


@dataclass(frozen=True)
class ShippingInfo:
    """The body of ``upload_shipping_info``."""

    order_key: OrderKey
    logistics_type: LogisticsType
    delivery_mode: DeliveryMode
    packages: tuple[Package, ...]
    payer_openid: str
    upload_time: datetime
    is_all_delivered: bool | None = None

    def __post_init__(self) -> None:
        _check_packages(
            self.logistics_type, self.delivery_mode, self.packages, self.is_all_delivered
        )
        if not self.payer_openid:
            raise ValueError("payer openid is required")

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "order_key": self.order_key.to_dict(),
            "logistics_type": int(self.logistics_type),
            "delivery_mode": int(self.delivery_mode),
            "shipping_list": [package.to_dict() for package in self.packages],
            "upload_time": format_upload_time(self.upload_time),
            "payer": {"openid": self.payer_openid},
        }
        if self.is_all_delivered is not None:
            body["is_all_delivered"] = self.is_all_delivered
        return body


@dataclass(frozen=True)
class SubOrderShipping:
    """One sub-order of a combined payment (合单支付)."""

    order_key: OrderKey
    logistics_type: LogisticsType
    delivery_mode: DeliveryMode
    packages: tuple[Package, ...]
    is_all_delivered: bool | None = None

    def __post_init__(self) -> None:
        _check_packages(
            self.logistics_type, self.delivery_mode, self.packages, self.is_all_delivered
        )

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "order_key": self.order_key.to_dict(),
            "logistics_type": int(self.logistics_type),
            "delivery_mode": int(self.delivery_mode),
            "shipping_list": [package.to_dict() for package in self.packages],
        }
        if self.is_all_delivered is not None:
            body["is_all_delivered"] = self.is_all_delivered
        return body


@dataclass(frozen=True)
class ShippedPackage:
    tracking_no: str | None
    express_company: str | None
    upload_time: int | None


@dataclass(frozen=True)
class ShippingOrder:
    """One order as ``get_order`` / ``get_order_list`` describe it."""

    transaction_id: str
    merchant_id: str
    merchant_trade_no: str
    order_state: int
    openid: str | None = None
    paid_amount: int | None = None
    pay_time: int | None = None
    in_complaint: bool = False
    logistics_type: int | None = None
    delivery_mode: int | None = None
    finish_shipping: bool = False
    packages: tuple[ShippedPackage, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class OrderListPage:
    orders: tuple[ShippingOrder, ...]
    last_index: str
    has_more: bool


@dataclass(frozen=True)
class DeliveryCompany:
    delivery_id: str
    delivery_name: str


def _opt_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedMessageError(f"get_order: {name} is not an integer")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise MalformedMessageError(f"get_order: {name} is not a string")
    return value


def parse_order(data: Any) -> ShippingOrder:
    """A ``ShippingOrder`` from one ``order`` object; ``MalformedMessageError`` if misshapen."""
    if not isinstance(data, dict):
        raise MalformedMessageError("get_order: order is not an object")
    state = _opt_int(data.get("order_state"), "order_state")
    if state is None:
        raise MalformedMessageError("get_order: order has no order_state")
    shipping = data.get("shipping") or {}
    if not isinstance(shipping, dict):
        raise MalformedMessageError("get_order: shipping is not an object")
    raw_list = shipping.get("shipping_list") or []
    if not isinstance(raw_list, list):
        raise MalformedMessageError("get_order: shipping_list is not a list")
    packages = []
    for item in raw_list:
        if not isinstance(item, dict):
            raise MalformedMessageError("get_order: a package is not an object")
        packages.append(
            ShippedPackage(
                tracking_no=item.get("tracking_no") or None,
                express_company=item.get("express_company") or None,
                upload_time=_opt_int(item.get("upload_time"), "upload_time"),
            )
        )
    openid = data.get("openid")
    return ShippingOrder(
        transaction_id=_text(data.get("transaction_id"), "transaction_id"),
        merchant_id=_text(data.get("merchant_id", ""), "merchant_id"),
        merchant_trade_no=_text(data.get("merchant_trade_no", ""), "merchant_trade_no"),
        order_state=state,
        openid=openid if isinstance(openid, str) else None,
        paid_amount=_opt_int(data.get("paid_amount"), "paid_amount"),
        pay_time=_opt_int(data.get("pay_time"), "pay_time"),
        in_complaint=bool(data.get("in_complaint", False)),
        logistics_type=_opt_int(shipping.get("logistics_type"), "logistics_type"),
        delivery_mode=_opt_int(shipping.get("delivery_mode"), "delivery_mode"),
        finish_shipping=bool(shipping.get("finish_shipping", False)),
        packages=tuple(packages),
    )
