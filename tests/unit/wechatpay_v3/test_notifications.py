"""NotificationParser against spec §7.8: verify raw bytes, then decrypt, then parse."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from mppay.wechatpay.errors import (
    DecryptionError,
    MalformedMessageError,
    SignatureMismatchError,
    SignatureProbeError,
    TimestampSkewError,
    VerificationError,
)
from mppay.wechatpay.v3.notifications import NotificationParser, RefundEvent, TransactionEvent
from mppay.wechatpay.v3.verification import PublicKeyVerifier, ResponseValidator
from tests import spec_vectors as v
from tests.unit.wechatpay_v3.helpers import (
    PLATFORM_PUBLIC_KEY,
    PUBLIC_KEY_ID,
    aes_gcm_seal,
    at,
    signed_headers,
)

TS_78 = int(v.V3_NOTIFY_HEADERS_78["Wechatpay-Timestamp"])
BODY_78 = v.V3_NOTIFY_BODY_78.encode()


def parser(timestamp: int = TS_78) -> NotificationParser:
    validator = ResponseValidator(
        PublicKeyVerifier(PUBLIC_KEY_ID, PLATFORM_PUBLIC_KEY), at(timestamp)
    )
    return NotificationParser(v.V3_API_KEY_78, validator)


def envelope(
    plaintext: bytes,
    *,
    event_type: str = "REFUND.SUCCESS",
    algorithm: str = "AEAD_AES_256_GCM",
    aad: str = "refund",
) -> bytes:
    return json.dumps(
        {
            "id": "3119dfba-e649-5eec-ab1e-3412bc4d2e17",
            "create_time": "2023-11-14T22:20:00+08:00",
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "退款成功",
            "resource": {
                "original_type": "refund",
                "algorithm": algorithm,
                "ciphertext": aes_gcm_seal(plaintext, key=v.V3_API_KEY_78, aad=aad),
                "associated_data": aad,
                "nonce": "0123456789ab",
            },
        },
        ensure_ascii=False,
    ).encode()


REFUND_PLAINTEXT = (
    '{"mchid":"1230000109","out_trade_no":"1217752501201407033233368018",'
    '"transaction_id":"4200000000202311140000000001","out_refund_no":"R20231114001",'
    '"refund_id":"50000000382019052709732678859","refund_status":"SUCCESS",'
    '"success_time":"2023-11-14T22:19:59+08:00","user_received_account":"支付用户零钱",'
    '"amount":{"total":100,"refund":100,"payer_total":100,"payer_refund":100}}'
).encode()


async def test_vector_7_8_verifies_decrypts_and_parses_into_a_transaction_event() -> None:
    event = await parser().parse(v.V3_NOTIFY_HEADERS_78, BODY_78)
    assert isinstance(event, TransactionEvent)
    assert event.id == "EV-2018022511223320873"
    assert event.event_type == "TRANSACTION.SUCCESS"
    assert event.summary == "支付成功"
    assert event.create_time == datetime(
        2023, 11, 14, 22, 13, 31, tzinfo=timezone(timedelta(hours=8))
    )
    expected = json.loads(v.V3_NOTIFY_PLAINTEXT_78)
    assert event.resource.model_dump(mode="json", exclude_defaults=True) == expected


async def test_flipping_any_byte_of_the_body_fails_verification() -> None:
    p = parser()
    for index in range(len(BODY_78)):
        tampered = bytearray(BODY_78)
        tampered[index] ^= 0x01
        with pytest.raises(SignatureMismatchError):
            await p.parse(v.V3_NOTIFY_HEADERS_78, bytes(tampered))


async def test_a_tampered_tag_fails_decryption_even_when_the_body_is_re_signed() -> None:
    ciphertext = v.V3_NOTIFY_CIPHERTEXT_78
    flipped = ciphertext[:-6] + ("A" if ciphertext[-6] != "A" else "B") + ciphertext[-5:]
    body = v.V3_NOTIFY_BODY_78.replace(ciphertext, flipped).encode()
    headers = signed_headers(body, timestamp=TS_78)
    with pytest.raises(DecryptionError, match="EV-2018022511223320873"):
        await parser().parse(headers, body)


async def test_signature_is_checked_before_the_body_is_parsed() -> None:
    with pytest.raises(VerificationError):
        await parser().parse(v.V3_NOTIFY_HEADERS_78, b"not json at all")


async def test_a_signed_body_that_is_not_an_envelope_is_malformed() -> None:
    body = b'{"id":"x"}'
    with pytest.raises(MalformedMessageError, match="envelope"):
        await parser().parse(signed_headers(body, timestamp=TS_78), body)


async def test_a_stale_notification_is_rejected_even_if_genuine() -> None:
    with pytest.raises(TimestampSkewError):
        await parser(TS_78 + 300).parse(v.V3_NOTIFY_HEADERS_78, BODY_78)


async def test_a_signtest_probe_notification_is_rejected() -> None:
    headers = dict(v.V3_NOTIFY_HEADERS_78)
    headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]
    with pytest.raises(SignatureProbeError):
        await parser().parse(headers, BODY_78)


async def test_a_refund_notification_becomes_a_refund_event() -> None:
    body = envelope(REFUND_PLAINTEXT)
    event = await parser().parse(signed_headers(body, timestamp=TS_78), body)
    assert isinstance(event, RefundEvent)
    assert event.event_type == "REFUND.SUCCESS"
    assert event.resource.refund_status == "SUCCESS"
    assert event.resource.amount.refund == 100
    assert event.summary == "退款成功"


@pytest.mark.parametrize("event_type", ["REFUND.ABNORMAL", "REFUND.CLOSED"])
async def test_other_refund_outcomes_are_refund_events(event_type: str) -> None:
    body = envelope(REFUND_PLAINTEXT.replace(b'"SUCCESS"', b'"CLOSED"'), event_type=event_type)
    event = await parser().parse(signed_headers(body, timestamp=TS_78), body)
    assert isinstance(event, RefundEvent)
    assert event.event_type == event_type


async def test_an_empty_associated_data_decrypts_with_empty_aad() -> None:
    body = envelope(REFUND_PLAINTEXT, aad="")
    event = await parser().parse(signed_headers(body, timestamp=TS_78), body)
    assert isinstance(event, RefundEvent)


async def test_an_unknown_event_type_is_malformed() -> None:
    body = envelope(REFUND_PLAINTEXT, event_type="PAYSCORE.USER_OPEN_SERVICE")
    with pytest.raises(MalformedMessageError, match="event_type"):
        await parser().parse(signed_headers(body, timestamp=TS_78), body)


async def test_another_algorithm_is_malformed() -> None:
    body = envelope(REFUND_PLAINTEXT, algorithm="AEAD_SM4_GCM")
    with pytest.raises(MalformedMessageError, match="algorithm"):
        await parser().parse(signed_headers(body, timestamp=TS_78), body)


async def test_a_plaintext_that_is_not_the_announced_resource_is_malformed() -> None:
    body = envelope(b'{"mchid":"1230000109"}', event_type="TRANSACTION.SUCCESS")
    with pytest.raises(MalformedMessageError, match=r"TRANSACTION\.SUCCESS resource"):
        await parser().parse(signed_headers(body, timestamp=TS_78), body)


async def test_a_wrong_api_v3_key_fails_decryption_without_revealing_the_key() -> None:
    validator = ResponseValidator(PublicKeyVerifier(PUBLIC_KEY_ID, PLATFORM_PUBLIC_KEY), at(TS_78))
    wrong_key = "Z" * 32
    with pytest.raises(DecryptionError) as caught:
        await NotificationParser(wrong_key, validator).parse(v.V3_NOTIFY_HEADERS_78, BODY_78)
    assert wrong_key not in str(caught.value)
