"""What WeChat says about orders and refunds: v3 JSON objects and notifications, v2 XML.

Key order follows real captures (spec §2.7, §7.8) because merchants' logs and tests compare
bytes; JSON is compact UTF-8 (no ASCII escapes of non-ASCII text), like WeChat's.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from typing import Any

from . import ids
from .clock import format_compact, format_rfc3339, format_v2_time
from .crypto import aes_ecb_encrypt_req_info, aes_gcm_encrypt, v2_sign
from .state import Attempt, Merchant, Order, Refund
from .xmlcodec import XmlFormatError, build_cdata_xml, build_xml, parse_xml

__all__ = [
    "SUMMARIES",
    "TRADE_STATE_DESC",
    "V2_REFUND_STATUS",
    "acknowledged",
    "attempt_json",
    "build_body",
    "deep_merge",
    "dumps",
    "refund_json",
    "refund_resource",
    "transaction_json",
    "v2_payment_notification",
    "v2_refund_notification",
    "v2_refund_plaintext",
    "v3_notification_body",
]

TRADE_STATE_DESC = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "订单已关闭",
    "REFUND": "转入退款",
}
SUMMARIES = {
    "TRANSACTION.SUCCESS": "支付成功",
    "REFUND.SUCCESS": "退款成功",
    "REFUND.CLOSED": "退款关闭",
    "REFUND.ABNORMAL": "退款异常",
}
V2_REFUND_STATUS = {
    "SUCCESS": "SUCCESS",
    "CLOSED": "REFUNDCLOSE",
    "ABNORMAL": "CHANGE",
    "PROCESSING": "PROCESSING",
}


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` applied recursively (used by ``/sandbox/notifications/send``)."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def as_paid(order: Order, now: float) -> Order:
    """``order`` as WeChat would describe it once paid, for a manual ``TRANSACTION.SUCCESS``.

    WeChat only ever sends a success notification for a paid order, so one sent by hand for
    an order still NOTPAY gets a transaction id, a success time and the payer (the order itself
    is not changed: a query still answers NOTPAY, exactly like a forged notification would).
    """
    if order.transaction_id is not None and order.success_time is not None:
        return order
    return replace(
        order, trade_state="SUCCESS", transaction_id=ids.transaction_id(now), success_time=now
    )


def transaction_json(order: Order, *, for_query: bool) -> dict[str, Any]:
    """The ``Transaction`` object; a notification carries it without the query-only extras."""
    if order.trade_state in ("NOTPAY", "CLOSED") or order.transaction_id is None:
        unpaid: dict[str, Any] = {
            "amount": {"payer_currency": order.currency, "total": order.total},
            "appid": order.appid,
            "mchid": order.mchid,
            "out_trade_no": order.out_trade_no,
            "promotion_detail": [],
            "scene_info": {"device_id": order.device_info},
            "trade_state": order.trade_state,
            "trade_state_desc": TRADE_STATE_DESC[order.trade_state],
        }
        if order.attach:
            unpaid["attach"] = order.attach
        return unpaid
    paid: dict[str, Any] = {
        "appid": order.appid,
        "mchid": order.mchid,
        "out_trade_no": order.out_trade_no,
        "transaction_id": order.transaction_id,
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS" if not for_query else order.trade_state,
        "trade_state_desc": TRADE_STATE_DESC["SUCCESS" if not for_query else order.trade_state],
        "bank_type": "OTHERS",
        "attach": order.attach,
        "success_time": format_rfc3339(order.success_time or 0),
        "payer": {"openid": order.openid},
        "amount": {
            "total": order.total,
            "payer_total": order.total,
            "currency": order.currency,
            "payer_currency": order.currency,
        },
    }
    if for_query:
        paid["promotion_detail"] = []
    return paid


def refund_json(refund: Refund) -> dict[str, Any]:
    """The ``Refund`` object of the v3 refund API and refund query."""
    body: dict[str, Any] = {
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "transaction_id": refund.transaction_id,
        "out_trade_no": refund.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": refund.user_received_account,
    }
    if refund.status == "SUCCESS" and refund.success_time is not None:
        body["success_time"] = format_rfc3339(refund.success_time)
    body.update(
        {
            "create_time": format_rfc3339(refund.created_at),
            "status": refund.status,
            "funds_account": refund.funds_account,
            "amount": {
                "total": refund.total,
                "refund": refund.refund,
                "from": [],
                "payer_total": refund.total,
                "payer_refund": refund.refund,
                "settlement_refund": refund.refund,
                "settlement_total": refund.total,
                "discount_refund": 0,
                "currency": refund.currency,
                "refund_fee": 0,
            },
            "promotion_detail": [],
        }
    )
    return body


def refund_resource(refund: Refund) -> dict[str, Any]:
    """Plaintext of a REFUND.* notification (note ``refund_status``, not ``status``)."""
    body: dict[str, Any] = {
        "mchid": refund.mchid,
        "out_trade_no": refund.out_trade_no,
        "transaction_id": refund.transaction_id,
        "out_refund_no": refund.out_refund_no,
        "refund_id": refund.refund_id,
        "refund_status": refund.status,
    }
    if refund.status == "SUCCESS" and refund.success_time is not None:
        body["success_time"] = format_rfc3339(refund.success_time)
    body["user_received_account"] = refund.user_received_account
    body["amount"] = {
        "total": refund.total,
        "refund": refund.refund,
        "payer_total": refund.total,
        "payer_refund": refund.refund,
    }
    return body


def v3_notification_body(
    *,
    event_type: str,
    resource_plaintext: bytes,
    api_v3_key: str,
    notification_id: str,
    create_time: str,
    nonce: str | None = None,
) -> bytes:
    """The notification envelope with the resource encrypted (AAD ``transaction``/``refund``)."""
    original_type = "transaction" if event_type.startswith("TRANSACTION.") else "refund"
    nonce = nonce if nonce is not None else ids.alnum(12)
    ciphertext = aes_gcm_encrypt(api_v3_key, nonce, original_type, resource_plaintext)
    return dumps(
        {
            "id": notification_id,
            "create_time": create_time,
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": SUMMARIES.get(event_type, event_type),
            "resource": {
                "original_type": original_type,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": ciphertext,
                "associated_data": original_type,
                "nonce": nonce,
            },
        }
    )


def v2_payment_fields(order: Order) -> dict[str, str]:
    """Unsigned fields of a v2 payment notification (alphabetical, as WeChat sends them)."""
    fields = {
        "appid": order.appid,
        "attach": order.attach,
        "bank_type": "OTHERS",
        "cash_fee": str(order.total),
        "device_info": order.device_info,
        "fee_type": order.currency,
        "is_subscribe": "N",
        "mch_id": order.mchid,
        "nonce_str": secrets.token_hex(16),
        "openid": order.openid,
        "out_trade_no": order.out_trade_no,
        "result_code": "SUCCESS",
        "return_code": "SUCCESS",
        "time_end": format_compact(order.success_time or 0),
        "total_fee": str(order.total),
        "trade_type": "JSAPI",
        "transaction_id": order.transaction_id or "",
    }
    return {k: v for k, v in fields.items() if v != ""}


def v2_payment_notification(
    order: Order, merchant: Merchant, overrides: dict[str, Any] | None = None
) -> bytes:
    """Signed v2 payment notification XML, signed with the order's ``sign_type``."""
    fields = v2_payment_fields(order)
    if overrides:
        fields.update({k: str(v) for k, v in overrides.items()})
    sign_type = order.sign_type if order.sign_type in ("MD5", "HMAC-SHA256") else "MD5"
    if sign_type == "HMAC-SHA256":
        fields["sign_type"] = sign_type
    fields["sign"] = v2_sign(fields, merchant.api_v2_key, sign_type)
    return build_xml(dict(sorted(fields.items())))


def v2_refund_plaintext(refund: Refund) -> dict[str, str]:
    fields = {
        "out_refund_no": refund.out_refund_no,
        "out_trade_no": refund.out_trade_no,
        "refund_account": "REFUND_SOURCE_UNSETTLED_FUNDS",
        "refund_fee": str(refund.refund),
        "refund_id": refund.refund_id,
        "refund_recv_accout": refund.user_received_account,
        "refund_request_source": "API",
        "refund_status": V2_REFUND_STATUS[refund.status],
        "settlement_refund_fee": str(refund.refund),
        "settlement_total_fee": str(refund.total),
        "total_fee": str(refund.total),
        "transaction_id": refund.transaction_id,
    }
    if refund.status == "SUCCESS" and refund.success_time is not None:
        fields["success_time"] = format_v2_time(refund.success_time)
    return dict(sorted(fields.items()))


def v2_refund_notification(
    refund: Refund, merchant: Merchant, overrides: dict[str, Any] | None = None
) -> bytes:
    """v2 refund notification: no ``sign``; the details travel in the encrypted ``req_info``."""
    plain = v2_refund_plaintext(refund)
    if overrides:
        plain = dict(sorted({**plain, **{k: str(v) for k, v in overrides.items()}}.items()))
    req_info = aes_ecb_encrypt_req_info(merchant.api_v2_key, build_cdata_xml(plain, root="root"))
    return build_xml(
        {
            "return_code": "SUCCESS",
            "appid": merchant.appid,
            "mch_id": merchant.mchid,
            "nonce_str": secrets.token_hex(16),
            "req_info": req_info,
        }
    )


def build_body(
    merchant: Merchant,
    event_type: str,
    order: Order,
    refund: Refund | None,
    *,
    api: str,
    create_time: float,
    overrides: dict[str, Any] | None = None,
) -> bytes:
    """The exact bytes of one notification (v3 JSON with encrypted resource, or v2 XML)."""
    if api == "v2":
        if refund is not None:
            return v2_refund_notification(refund, merchant, overrides)
        return v2_payment_notification(order, merchant, overrides)
    resource = (
        refund_resource(refund) if refund is not None else transaction_json(order, for_query=False)
    )
    if overrides:
        resource = deep_merge(resource, overrides)
    return v3_notification_body(
        event_type=event_type,
        resource_plaintext=dumps(resource),
        api_v3_key=merchant.api_v3_key,
        notification_id=ids.notification_id(),
        create_time=format_rfc3339(create_time),
    )


def acknowledged(api: str, status: int, body: bytes) -> bool:
    if api == "v3":
        return status in (200, 204)
    if status != 200:
        return False
    try:
        return parse_xml(body).get("return_code") == "SUCCESS"
    except XmlFormatError:
        return False


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {
        "id": attempt.seq,
        "notification_id": attempt.notification_id,
        "mchid": attempt.mchid,
        "api": attempt.api,
        "event_type": attempt.event_type,
        "event": attempt.event_type,  # the word for it; same value
        "url": attempt.url,
        "out_trade_no": attempt.out_trade_no,
        "out_refund_no": attempt.out_refund_no,
        "attempt": attempt.attempt,
        "kind": attempt.kind,
        "outcome": attempt.outcome,
        "status_code": attempt.status_code,
        "response_body": attempt.response_body,
        "error": attempt.error,
        "scheduled_at": format_rfc3339(attempt.scheduled_at),
        "scheduled_unix": attempt.scheduled_at,
        "time": format_rfc3339(attempt.at),
        "time_unix": attempt.at,
    }
