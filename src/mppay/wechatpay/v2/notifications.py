"""API v2 notifications: validate the raw body, then trust it; and the answers WeChat expects.

Payment notification (spec 4.5), in this order:

1. safe-parse the raw bytes (``XmlError``);
2. ``return_code`` must be ``SUCCESS`` (``MalformedMessageError``);
3. verify ``sign`` with the notification's own ``sign_type`` (MD5 when absent) -- before any
   field is believed (``MissingHeaderError`` / ``SignatureMismatchError``);
4. ``appid`` and ``mch_id`` must be ours (``RecipientMismatchError``);
5. build the typed model (``MalformedMessageError``). ``result_code=FAIL`` is returned typed
   with ``is_paid == False``.

Refund notification (spec 4.7): outer ``return_code``, outer ``appid``/``mch_id``, decrypt
``req_info`` (``DecryptionError``), parse its ``<root>`` XML. There is no signature: only the
AES key vouches for it, and ECB has no integrity, so query the refund before moving money.

Why a mismatched ``appid``/``mch_id`` is a ``VerificationError`` (``RecipientMismatchError``) and
not ``MalformedMessageError``: the message is well-formed and may even be genuinely signed --
several AppIDs can share one merchant account and its API v2 key -- but it is not addressed to
this configuration, so it fails the "is this for us" half of validation. Callers treat every
``VerificationError`` the same way: do not act, answer ``ack_fail``, alert.
"""

from __future__ import annotations

from mppay.wechatpay.config import MerchantConfig
from mppay.wechatpay.errors import (
    DecryptionError,
    MalformedMessageError,
    VerificationError,
    XmlSyntaxError,
)

from .crypto import decrypt_req_info
from .models import V2PaymentNotification, V2RefundNotification
from .signing import verify_sign
from .xml import build_xml, parse_xml

__all__ = [
    "ACK_SUCCESS",
    "RecipientMismatchError",
    "ack_fail",
    "parse_payment_notification",
    "parse_refund_notification",
]

ACK_SUCCESS: bytes = (
    b"<xml><return_code><![CDATA[SUCCESS]]></return_code>"
    b"<return_msg><![CDATA[OK]]></return_msg></xml>"
)
"""The exact acknowledgement of spec 4.5; anything else makes WeChat deliver again."""


class RecipientMismatchError(VerificationError):
    """A v2 notification names another ``appid`` or ``mch_id`` than the configured ones.

    Defined here because ``errors.py`` has no such class yet; it belongs in the shared tree.
    """


def ack_fail(message: str) -> bytes:
    """The XML answer that asks WeChat to deliver again: ``return_code=FAIL`` + ``message``.

    Keep ``message`` short and free of secrets; WeChat only logs it.
    """
    return build_xml({"return_code": "FAIL", "return_msg": message or "FAIL"})


def parse_payment_notification(body: bytes, *, config: MerchantConfig) -> V2PaymentNotification:
    """Validate a v2 payment notification over its raw ``body`` and return it typed.

    Raises ``XmlError`` (unsafe or malformed XML), ``MalformedMessageError`` (``return_code``
    not ``SUCCESS``, missing or badly typed fields), ``MissingHeaderError`` (no ``sign``),
    ``SignatureMismatchError`` (bad sign, unknown ``sign_type``), ``RecipientMismatchError``
    (another ``appid``/``mch_id``) and ``ConfigurationError`` (no ``api_v2_key``).
    """
    key = config.require_api_v2_key()
    fields = parse_xml(body)
    _require_return_success(fields, "payment notification")
    verify_sign(fields, key)
    _require_recipient(fields, config)
    return V2PaymentNotification.from_fields(fields)


def parse_refund_notification(body: bytes, *, config: MerchantConfig) -> V2RefundNotification:
    """Decrypt a v2 refund notification and return it typed.

    Raises ``XmlError`` (unsafe or malformed outer or inner XML), ``MalformedMessageError``
    (``return_code`` not ``SUCCESS``, no ``req_info``, missing fields),
    ``RecipientMismatchError`` (another ``appid``/``mch_id``), ``DecryptionError`` (``req_info``
    does not decrypt to UTF-8 ``<root>`` XML with the configured API v2 key) and
    ``ConfigurationError`` (no ``api_v2_key``).
    """
    key = config.require_api_v2_key()
    fields = parse_xml(body)
    _require_return_success(fields, "refund notification")
    _require_recipient(fields, config)
    req_info = fields.get("req_info")
    if not req_info:
        raise MalformedMessageError("refund notification carries no req_info")
    plaintext = decrypt_req_info(req_info, key)
    try:
        inner = parse_xml(plaintext, root="root")
    except XmlSyntaxError as exc:
        # Valid padding by chance (about 1 in 256 with a wrong key) still leaves garbage.
        raise DecryptionError(
            f"req_info decrypted to something that is not <root> XML ({exc.message})"
        ) from None
    return V2RefundNotification.from_fields(
        {**inner, "appid": fields["appid"], "mch_id": fields["mch_id"]}
    )


def _require_return_success(fields: dict[str, str], what: str) -> None:
    return_code = fields.get("return_code")
    if return_code != "SUCCESS":
        shown = (return_code or "absent")[:32]
        raise MalformedMessageError(
            f"{what} has return_code {shown!r}, not SUCCESS", code=return_code or None
        )


def _require_recipient(fields: dict[str, str], config: MerchantConfig) -> None:
    for name, expected in (("appid", config.appid), ("mch_id", config.mchid)):
        received = fields.get(name)
        if received != expected:
            raise RecipientMismatchError(
                f"notification is for {name} {(received or 'absent')[:40]!r}, not {expected!r}",
                detail={name: received, "expected": expected},
            )
