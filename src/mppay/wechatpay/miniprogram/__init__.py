"""The Mini Program server API (``api.weixin.qq.com``) for order-shipping management.

- ``StableTokenSource``: the stable access_token, cached and shared (``tokens``);
- ``MiniProgramServerClient``: upload_shipping_info and the rest of 发货信息管理 (``client``);
- ``MessagePushVerifier``: the message-push URL check and safe-mode decryption (``push``).

Same standards as the payment client: typed, one sending seam, errors from
``mppay.wechatpay.errors``, time injected, nothing read from the environment.
"""

from .client import MiniProgramServerClient
from .push import MessagePushVerifier, OrderSettlementEvent, PushMessage, push_signature
from .shipping import (
    MAX_PACKAGES,
    Contact,
    DeliveryCompany,
    DeliveryMode,
    LogisticsType,
    OrderKey,
    OrderListPage,
    OrderState,
    Package,
    ShippedPackage,
    ShippingInfo,
    ShippingOrder,
    SubOrderShipping,
    format_upload_time,
)
from .tokens import DEFAULT_API_BASE_URL, AccessToken, StableTokenSource

__all__ = [
    "DEFAULT_API_BASE_URL",
    "MAX_PACKAGES",
    "AccessToken",
    "Contact",
    "DeliveryCompany",
    "DeliveryMode",
    "LogisticsType",
    "MessagePushVerifier",
    "MiniProgramServerClient",
    "OrderKey",
    "OrderListPage",
    "OrderSettlementEvent",
    "OrderState",
    "Package",
    "PushMessage",
    "ShippedPackage",
    "ShippingInfo",
    "ShippingOrder",
    "StableTokenSource",
    "SubOrderShipping",
    "format_upload_time",
    "push_signature",
]
