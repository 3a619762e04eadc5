"""WeChat Pay legacy API v2: flat XML, MD5 / HMAC-SHA256 signatures, AES-ECB refund notices.

Modules: ``xml`` (safe codec), ``signing``, ``crypto`` (``req_info``), ``models``,
``notifications`` (validate, then trust; ACK answers) and ``client`` (the only one that sends).
"""

from .client import WeChatPayV2Client, read_response, signed_request_fields
from .crypto import decrypt_req_info, req_info_key
from .models import (
    BEIJING,
    UnifiedOrderRequest,
    UnifiedOrderResult,
    V2Order,
    V2PaymentNotification,
    V2RefundNotification,
    V2RefundQueryResult,
    V2RefundRecord,
    V2RefundRequest,
    V2RefundResult,
)
from .notifications import (
    ACK_SUCCESS,
    RecipientMismatchError,
    ack_fail,
    parse_payment_notification,
    parse_refund_notification,
)
from .signing import SignType, sign, sign_string, verify_sign
from .xml import DEFAULT_MAX_BYTES, build_xml, parse_xml

__all__ = [
    "ACK_SUCCESS",
    "BEIJING",
    "DEFAULT_MAX_BYTES",
    "RecipientMismatchError",
    "SignType",
    "UnifiedOrderRequest",
    "UnifiedOrderResult",
    "V2Order",
    "V2PaymentNotification",
    "V2RefundNotification",
    "V2RefundQueryResult",
    "V2RefundRecord",
    "V2RefundRequest",
    "V2RefundResult",
    "WeChatPayV2Client",
    "ack_fail",
    "build_xml",
    "decrypt_req_info",
    "parse_payment_notification",
    "parse_refund_notification",
    "parse_xml",
    "read_response",
    "req_info_key",
    "sign",
    "sign_string",
    "signed_request_fields",
    "verify_sign",
]
