"""Shipping information (发货信息管理): our per-order states and the rules of a shipment.

A paid order of a Mini Program under WeChat's order-shipping management has its money frozen
until its shipping is uploaded and the buyer confirms (or the window passes). Our states:

    NOT_REQUIRED    the appid is not managed (nothing to upload)
    PENDING_UPLOAD  paid, shipping not (completely) uploaded yet
    UPLOADED        WeChat accepted the shipping information
    CONFIRMED       the buyer confirmed receipt (or WeChat did it automatically)
    SETTLED         WeChat settled the money to the merchant

A shipment may be uploaded once and corrected once (WeChat's "one update per payment"), while
the buyer has not confirmed. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum, StrEnum

__all__ = [
    "MAX_PACKAGES",
    "MAX_UPLOADS",
    "LogisticsType",
    "ShipmentError",
    "ShipmentPackage",
    "ShipmentPlan",
    "ShippingKind",
    "ShippingState",
    "advance_from_wechat",
    "upload_retry_delay",
]

MAX_PACKAGES = 15
MAX_UPLOADS = 2  # the upload and its one correction
_RETRY_STEPS = (1, 2, 4, 8, 16)


class ShippingState(StrEnum):
    NOT_REQUIRED = "NOT_REQUIRED"
    PENDING_UPLOAD = "PENDING_UPLOAD"
    UPLOADED = "UPLOADED"
    CONFIRMED = "CONFIRMED"
    SETTLED = "SETTLED"


_RANK = {
    ShippingState.NOT_REQUIRED: 0,
    ShippingState.PENDING_UPLOAD: 1,
    ShippingState.UPLOADED: 2,
    ShippingState.CONFIRMED: 3,
    ShippingState.SETTLED: 4,
}


class ShippingKind(StrEnum):
    """Per product in the catalog: what an order of it needs to ship."""

    PHYSICAL = "physical"
    VIRTUAL = "virtual"


class LogisticsType(IntEnum):
    EXPRESS = 1
    LOCAL_DELIVERY = 2
    VIRTUAL = 3
    SELF_PICKUP = 4


class ShipmentError(ValueError):
    """A shipment request that breaks a rule; ``code`` is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ShipmentPackage:
    item_desc: str
    tracking_no: str | None = None
    express_company: str | None = None
    receiver_contact: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"item_desc": self.item_desc}
        for name in ("tracking_no", "express_company", "receiver_contact"):
            value = getattr(self, name)
            if value:
                out[name] = value
        return out


@dataclass(frozen=True)
class ShipmentPlan:
    """What one upload sends: how, which packages, and whether it completes shipping."""

    logistics_type: LogisticsType
    split: bool
    packages: tuple[ShipmentPackage, ...]
    is_all_delivered: bool = True

    @property
    def completes(self) -> bool:
        return not self.split or self.is_all_delivered

    def check(self) -> ShipmentPlan:
        """Itself, or ``ShipmentError`` naming the broken rule (WeChat's own rules)."""
        if not 1 <= len(self.packages) <= MAX_PACKAGES:
            raise ShipmentError("INVALID_SHIPMENT", f"1 to {MAX_PACKAGES} packages per upload")
        if self.split and self.logistics_type is not LogisticsType.EXPRESS:
            raise ShipmentError("INVALID_SHIPMENT", "only express deliveries can be split")
        if not self.split and len(self.packages) != 1:
            raise ShipmentError("INVALID_SHIPMENT", "a unified delivery has exactly one package")
        for package in self.packages:
            if not package.item_desc or len(package.item_desc) > 120:
                raise ShipmentError("INVALID_SHIPMENT", "item_desc needs 1 to 120 characters")
            if self.logistics_type is LogisticsType.EXPRESS:
                if not package.tracking_no or not package.express_company:
                    raise ShipmentError(
                        "INVALID_SHIPMENT", "express needs tracking_no and express_company"
                    )
                if package.express_company == "SF" and not package.receiver_contact:
                    raise ShipmentError(
                        "INVALID_SHIPMENT", "SF Express needs a masked receiver_contact"
                    )
        return self

    def to_json(self) -> dict[str, object]:
        return {
            "logistics_type": int(self.logistics_type),
            "split": self.split,
            "is_all_delivered": self.is_all_delivered,
            "packages": [p.to_json() for p in self.packages],
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ShipmentPlan:
        raw = data.get("packages")
        packages = raw if isinstance(raw, list) else []
        return cls(
            logistics_type=LogisticsType(int(str(data.get("logistics_type", 1)))),
            split=bool(data.get("split", False)),
            is_all_delivered=bool(data.get("is_all_delivered", True)),
            packages=tuple(
                ShipmentPackage(
                    item_desc=str(p.get("item_desc", "")),
                    tracking_no=p.get("tracking_no"),
                    express_company=p.get("express_company"),
                    receiver_contact=p.get("receiver_contact"),
                )
                for p in packages
                if isinstance(p, dict)
            ),
        )


def advance_from_wechat(current: ShippingState, order_state: int) -> ShippingState:
    """Our state after WeChat reports ``order_state`` (1-5); never moves backwards.

    2 已发货 -> UPLOADED, 3 确认收货 -> CONFIRMED, 4 交易完成 -> SETTLED; 1 and 5 change nothing.
    """
    seen = {
        2: ShippingState.UPLOADED,
        3: ShippingState.CONFIRMED,
        4: ShippingState.SETTLED,
    }.get(order_state)
    if seen is None or current is ShippingState.NOT_REQUIRED:
        return current
    return seen if _RANK[seen] > _RANK[current] else current


def upload_retry_delay(step: int, base_seconds: float) -> timedelta:
    """Wait before the next upload attempt (``step`` 0-based): base x 1, 2, 4, 8, 16 (then 16).

    With WeChat's 10060001 "payment not visible yet" a base of 30 s retries at 30 s, 1 m, 2 m.
    """
    factor = _RETRY_STEPS[min(step, len(_RETRY_STEPS) - 1)]
    return timedelta(seconds=base_seconds * factor)
