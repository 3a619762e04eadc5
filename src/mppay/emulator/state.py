"""Everything the emulator remembers, as plain dataclasses that round-trip through JSON.

One ``EmulatorState`` holds merchants, orders, refunds, login codes, the notification outbox and
the log of delivery attempts. It has indexes but no behaviour beyond lookup; the rules live in
``payments``, ``login`` and ``notifier``. ``save``/``load`` write it to the optional state file
(atomically: a temp file then ``os.replace``), private keys included: it is a sandbox.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from .crypto import load_private_key, load_public_key
from .shipping_state import AccessTokenRecord, PushEntry, ShippingRecord, ShippingSettings

__all__ = [
    "Attempt",
    "EmulatorState",
    "LoginCode",
    "Merchant",
    "Order",
    "OutboxEntry",
    "Prepay",
    "Refund",
]


@dataclass
class Merchant:
    """A registered merchant and every key WeChat would hold for it.

    ``key_mode`` decides how WeChat signs towards it: ``public_key`` (new merchants; no platform
    certificate at all) or ``certificate`` (platform certificate by default; the public key is
    also issued, and is used whenever a request's ``Wechatpay-Serial`` names it, as during the
    real migration).
    """

    mchid: str
    appid: str
    app_secret: str
    name: str
    key_mode: str
    api_v2_key: str
    api_v3_key: str
    merchant_serial_no: str
    merchant_public_key_pem: str
    merchant_private_key_pem: str | None
    wechatpay_public_key_id: str
    wechatpay_private_key_pem: str
    wechatpay_public_key_pem: str
    platform_serial_no: str | None = None
    platform_private_key_pem: str | None = None
    platform_certificate_pem: str | None = None
    platform_effective_at: float | None = None
    platform_expire_at: float | None = None
    refund_notify_url: str | None = None
    created_at: float = 0.0
    # Shipping information: whether the appid is under order-shipping management, and its
    # message-push configuration (URL, Token, EncodingAESKey, plain or safe mode, json or xml).
    trade_managed: bool = True
    push_url: str | None = None
    push_token: str | None = None
    push_aes_key: str | None = None
    push_mode: str = "safe"
    push_format: str = "json"

    def __post_init__(self) -> None:
        self._keys: dict[str, Any] = {}

    def merchant_public_key(self) -> rsa.RSAPublicKey:
        """The key WeChat verifies this merchant's requests and v3 ``paySign`` with."""
        if "merchant" not in self._keys:
            self._keys["merchant"] = load_public_key(self.merchant_public_key_pem)
        key: rsa.RSAPublicKey = self._keys["merchant"]
        return key

    def signer(self, requested_serial: str | None) -> tuple[rsa.RSAPrivateKey, str]:
        """(private key, serial) WeChat signs with towards this merchant (§2.4).

        Public-key merchants always get the public key. Certificate merchants get the platform
        certificate unless the caller's ``Wechatpay-Serial`` names the public key id.
        """
        use_public_key = (
            self.key_mode == "public_key"
            or self.platform_private_key_pem is None
            or requested_serial == self.wechatpay_public_key_id
        )
        if use_public_key:
            slot, pem, serial = (
                "wechatpay",
                self.wechatpay_private_key_pem,
                self.wechatpay_public_key_id,
            )
        else:
            assert self.platform_private_key_pem is not None
            assert self.platform_serial_no is not None
            slot, pem, serial = "platform", self.platform_private_key_pem, self.platform_serial_no
        if slot not in self._keys:
            self._keys[slot] = load_private_key(pem)
        key: rsa.RSAPrivateKey = self._keys[slot]
        return key, serial

    def public_json(self) -> dict[str, Any]:
        """The ``POST /sandbox/merchants`` answer (field names are a contract, see the issue)."""
        return {
            "mchid": self.mchid,
            "appid": self.appid,
            "app_secret": self.app_secret,
            "api_v2_key": self.api_v2_key,
            "api_v3_key": self.api_v3_key,
            "merchant_serial_no": self.merchant_serial_no,
            "merchant_private_key_pem": self.merchant_private_key_pem,
            "platform_serial_no": self.platform_serial_no,
            "platform_certificate_pem": self.platform_certificate_pem,
            "wechatpay_public_key_id": self.wechatpay_public_key_id,
            "wechatpay_public_key_pem": self.wechatpay_public_key_pem,
            "key_mode": self.key_mode,
            "name": self.name,
            "refund_notify_url": self.refund_notify_url,
        }


@dataclass
class Prepay:
    prepay_id: str
    expires_at: float


@dataclass
class Order:
    """One ``out_trade_no`` of one merchant, created by v3 ``jsapi`` or v2 ``unifiedorder``."""

    mchid: str
    appid: str
    out_trade_no: str
    api: str  # "v3" | "v2"
    sign_type: str  # paySign scheme the WeChat client will require: RSA | MD5 | HMAC-SHA256
    description: str
    total: int
    currency: str
    openid: str
    notify_url: str
    attach: str
    fingerprint: str
    created_at: float
    time_expire: float
    trade_state: str = "NOTPAY"
    prepays: list[Prepay] = field(default_factory=list)
    transaction_id: str | None = None
    success_time: float | None = None
    device_info: str = ""
    refunded: int = 0
    refund_nos: list[str] = field(default_factory=list)
    bill_total: int | None = None  # the bill-mismatch scenario: the amount its bill row shows

    @property
    def refundable(self) -> int:
        return self.total - self.refunded


@dataclass
class Refund:
    mchid: str
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund: int
    total: int
    currency: str
    reason: str
    notify_url: str | None
    api: str
    fingerprint: str
    created_at: float
    due_at: float | None
    status: str = "PROCESSING"  # PROCESSING | SUCCESS | CLOSED | ABNORMAL
    success_time: float | None = None
    funds_account: str = "AVAILABLE"
    user_received_account: str = "支付用户零钱"


@dataclass
class LoginCode:
    code: str
    appid: str
    openid: str
    session_key: str
    expires_at: float
    used: bool = False
    blocked: bool = False


@dataclass
class OutboxEntry:
    """A notification WeChat owes a merchant, with its place in the retry schedule."""

    id: str
    seq: int
    mchid: str
    api: str
    event_type: str
    url: str
    out_trade_no: str
    out_refund_no: str | None
    body: str
    created_at: float
    next_due: float
    attempts: int = 0
    state: str = "pending"  # pending | delivered | gave_up


@dataclass
class Attempt:
    """One HTTP delivery (or a dropped one) as shown by ``GET /sandbox/notifications``."""

    seq: int
    notification_id: str
    mchid: str
    api: str
    event_type: str
    url: str
    out_trade_no: str
    out_refund_no: str | None
    attempt: int
    kind: str  # delivery | duplicate | signtest | manual
    outcome: str  # success | failure | dropped | probe_rejected | probe_accepted
    status_code: int | None
    response_body: str
    error: str | None
    scheduled_at: float
    at: float


@dataclass
class EmulatorState:
    merchants: dict[str, Merchant] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    login_codes: dict[str, LoginCode] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    outbox: list[OutboxEntry] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    clock_offset: float = 0.0
    faults: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    access_tokens: dict[str, AccessTokenRecord] = field(default_factory=dict)
    shipping: dict[str, ShippingRecord] = field(default_factory=dict)
    pushes: list[PushEntry] = field(default_factory=list)
    shipping_settings: ShippingSettings = field(default_factory=ShippingSettings)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # Keys: orders and refunds are unique per merchant, so the merchant number is part of the key.
    @staticmethod
    def key(mchid: str, number: str) -> str:
        return f"{mchid}/{number}"

    def merchant_by_appid(self, appid: str) -> Merchant | None:
        for merchant in self.merchants.values():
            if merchant.appid == appid:
                return merchant
        return None

    def order(self, mchid: str, out_trade_no: str) -> Order | None:
        return self.orders.get(self.key(mchid, out_trade_no))

    def order_by_transaction(self, mchid: str, transaction_id: str) -> Order | None:
        for order in self.orders.values():
            if order.mchid == mchid and order.transaction_id == transaction_id:
                return order
        return None

    def order_by_prepay(self, prepay_id: str) -> tuple[Order, Prepay] | None:
        for order in self.orders.values():
            for prepay in order.prepays:
                if prepay.prepay_id == prepay_id:
                    return order, prepay
        return None

    def refund(self, mchid: str, out_refund_no: str) -> Refund | None:
        return self.refunds.get(self.key(mchid, out_refund_no))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EmulatorState:
        orders = {}
        for key, raw in data.get("orders", {}).items():
            prepays = [Prepay(**p) for p in raw.pop("prepays", [])]
            orders[key] = Order(**raw, prepays=prepays)
        return cls(
            merchants={k: Merchant(**v) for k, v in data.get("merchants", {}).items()},
            orders=orders,
            refunds={k: Refund(**v) for k, v in data.get("refunds", {}).items()},
            login_codes={k: LoginCode(**v) for k, v in data.get("login_codes", {}).items()},
            users=dict(data.get("users", {})),
            outbox=[OutboxEntry(**e) for e in data.get("outbox", [])],
            attempts=[Attempt(**a) for a in data.get("attempts", [])],
            clock_offset=float(data.get("clock_offset", 0.0)),
            faults=dict(data.get("faults", {})),
            seq=int(data.get("seq", 0)),
            access_tokens={
                k: AccessTokenRecord(**v) for k, v in data.get("access_tokens", {}).items()
            },
            shipping={k: ShippingRecord(**v) for k, v in data.get("shipping", {}).items()},
            pushes=[PushEntry(**p) for p in data.get("pushes", [])],
            shipping_settings=ShippingSettings(**data.get("shipping_settings", {})),
        )

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> EmulatorState:
        """The saved state, or an empty one when the file does not exist yet."""
        if not path.exists():
            return cls()
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
