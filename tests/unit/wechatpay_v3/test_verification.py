"""Response/notification validation against spec §7.6 and §7.8, and every rejection rule."""

from __future__ import annotations

import pytest

from mppay.wechatpay.errors import (
    MissingHeaderError,
    SignatureMismatchError,
    SignatureProbeError,
    TimestampSkewError,
    UnknownSerialError,
    VerificationError,
)
from mppay.wechatpay.v3.certificates import PlatformCertificate, PlatformCertificateStore
from mppay.wechatpay.v3.verification import (
    CertificateVerifier,
    CombinedVerifier,
    PublicKeyVerifier,
    ResponseValidator,
    build_response_message,
    verify_signature,
)
from tests import spec_vectors as v
from tests.unit.wechatpay_v3.helpers import (
    PLATFORM_PUBLIC_KEY,
    PLATFORM_SERIAL,
    PUBLIC_KEY_ID,
    at,
    make_certificate,
    other_platform_key,
    signed_headers,
)

BODY_76A = v.V3_RESPONSE_76A_BODY.encode()


def headers_76a(**changes: str) -> dict[str, str]:
    headers = {
        "Wechatpay-Timestamp": v.V3_RESPONSE_76A_TIMESTAMP,
        "Wechatpay-Nonce": v.V3_RESPONSE_76A_NONCE,
        "Wechatpay-Serial": PUBLIC_KEY_ID,
        "Wechatpay-Signature": v.V3_RESPONSE_76A_SIGNATURE,
    }
    headers.update(changes)
    return headers


def public_key_validator(timestamp: int) -> ResponseValidator:
    return ResponseValidator(PublicKeyVerifier(PUBLIC_KEY_ID, PLATFORM_PUBLIC_KEY), at(timestamp))


def test_vector_7_6_a_response_signature_verifies() -> None:
    message = build_response_message(v.V3_RESPONSE_76A_TIMESTAMP, v.V3_RESPONSE_76A_NONCE, BODY_76A)
    assert message == (b"1700000001\n9e4c3b2a1f0d8e7c6b5a4f3e2d1c0b9a\n" + BODY_76A + b"\n")
    verify_signature(PLATFORM_PUBLIC_KEY, message, v.V3_RESPONSE_76A_SIGNATURE)


def test_vector_7_6_b_empty_204_body_signature_verifies() -> None:
    message = build_response_message(v.V3_RESPONSE_76B_TIMESTAMP, v.V3_RESPONSE_76B_NONCE, b"")
    assert message == b"1700000200\n0f1e2d3c4b5a69788796a5b4c3d2e1f0\n\n"
    verify_signature(PLATFORM_PUBLIC_KEY, message, v.V3_RESPONSE_76B_SIGNATURE)


async def test_validator_accepts_vector_7_6_a_at_its_timestamp() -> None:
    await public_key_validator(1700000001).validate(headers_76a(), BODY_76A)


async def test_validator_accepts_vector_7_6_b_with_an_empty_body() -> None:
    headers = {
        "Wechatpay-Timestamp": v.V3_RESPONSE_76B_TIMESTAMP,
        "Wechatpay-Nonce": v.V3_RESPONSE_76B_NONCE,
        "Wechatpay-Serial": PUBLIC_KEY_ID,
        "Wechatpay-Signature": v.V3_RESPONSE_76B_SIGNATURE,
    }
    await public_key_validator(1700000200).validate(headers, b"")


async def test_validator_accepts_vector_7_8_notification_with_lower_case_header_names() -> None:
    headers = {k.lower(): val for k, val in v.V3_NOTIFY_HEADERS_78.items()}
    validator = public_key_validator(int(v.V3_NOTIFY_HEADERS_78["Wechatpay-Timestamp"]))
    await validator.validate(headers, v.V3_NOTIFY_BODY_78.encode())


async def test_a_tampered_body_is_rejected() -> None:
    with pytest.raises(SignatureMismatchError):
        await public_key_validator(1700000001).validate(headers_76a(), BODY_76A[:-2] + b"1}")


async def test_a_body_with_reordered_json_is_rejected_because_bytes_are_what_is_signed() -> None:
    with pytest.raises(SignatureMismatchError):
        await public_key_validator(1700000001).validate(headers_76a(), BODY_76A + b" ")


async def test_a_tampered_signature_is_rejected() -> None:
    signature = v.V3_RESPONSE_76A_SIGNATURE
    flipped = ("A" if signature[10] != "A" else "B").join([signature[:10], signature[11:]])
    with pytest.raises(SignatureMismatchError):
        await public_key_validator(1700000001).validate(
            headers_76a(**{"Wechatpay-Signature": flipped}), BODY_76A
        )


async def test_a_signature_that_is_not_base64_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatchError):
        await public_key_validator(1700000001).validate(
            headers_76a(**{"Wechatpay-Signature": "not base64!"}), BODY_76A
        )


async def test_an_unknown_serial_is_rejected() -> None:
    with pytest.raises(UnknownSerialError):
        await public_key_validator(1700000001).validate(
            headers_76a(**{"Wechatpay-Serial": "PUB_KEY_ID_999"}), BODY_76A
        )


@pytest.mark.parametrize("offset", [300, -300, 301, -1000])
async def test_a_timestamp_300_seconds_or_more_away_is_rejected(offset: int) -> None:
    with pytest.raises(TimestampSkewError):
        await public_key_validator(1700000001 + offset).validate(headers_76a(), BODY_76A)


@pytest.mark.parametrize("offset", [299, -299, 0])
async def test_a_timestamp_less_than_300_seconds_away_is_accepted(offset: int) -> None:
    await public_key_validator(1700000001 + offset).validate(headers_76a(), BODY_76A)


@pytest.mark.parametrize(
    "name",
    ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial", "Wechatpay-Signature"],
)
@pytest.mark.parametrize("absent", ["missing", "empty"])
async def test_each_missing_or_empty_header_is_rejected(name: str, absent: str) -> None:
    headers = headers_76a()
    if absent == "missing":
        del headers[name]
    else:
        headers[name] = ""
    with pytest.raises(MissingHeaderError, match=name):
        await public_key_validator(1700000001).validate(headers, BODY_76A)


@pytest.mark.parametrize("timestamp", ["17000000o1", "1700000001.0", "-1700000001", "+1700000001"])
async def test_a_timestamp_that_is_not_whole_seconds_counts_as_missing(timestamp: str) -> None:
    with pytest.raises(MissingHeaderError, match="whole number"):
        await public_key_validator(1700000001).validate(
            headers_76a(**{"Wechatpay-Timestamp": timestamp}), BODY_76A
        )


async def test_a_signtest_probe_is_rejected_before_any_key_lookup() -> None:
    headers = headers_76a(
        **{"Wechatpay-Signature": "WECHATPAY/SIGNTEST/abc", "Wechatpay-Serial": "NOPE"}
    )
    with pytest.raises(SignatureProbeError):
        await public_key_validator(1700000001).validate(headers, BODY_76A)


async def test_an_unsupported_signature_type_is_rejected() -> None:
    with pytest.raises(SignatureMismatchError, match="Signature-Type"):
        await public_key_validator(1700000001).validate(
            headers_76a(**{"Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}), BODY_76A
        )


async def test_the_default_signature_type_is_accepted_explicitly() -> None:
    await public_key_validator(1700000001).validate(
        headers_76a(**{"Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}), BODY_76A
    )


async def test_every_rejection_is_a_verification_error() -> None:
    with pytest.raises(VerificationError):
        await public_key_validator(1700000001).validate({}, BODY_76A)


def certificate_store(timestamp: int) -> PlatformCertificateStore:
    certificate = PlatformCertificate.from_certificate(make_certificate())
    return PlatformCertificateStore(at(timestamp), certificates=[certificate])


async def test_combined_verifier_uses_the_public_key_for_pub_key_ids() -> None:
    verifier = CombinedVerifier(
        public_key=PublicKeyVerifier(PUBLIC_KEY_ID, PLATFORM_PUBLIC_KEY),
        certificates=CertificateVerifier(certificate_store(1700000001)),
    )
    await ResponseValidator(verifier, at(1700000001)).validate(headers_76a(), BODY_76A)


async def test_combined_verifier_uses_certificates_for_certificate_serials() -> None:
    verifier = CombinedVerifier(
        public_key=PublicKeyVerifier(PUBLIC_KEY_ID, PLATFORM_PUBLIC_KEY),
        certificates=CertificateVerifier(certificate_store(1700000001)),
    )
    headers = signed_headers(BODY_76A, timestamp=1700000001, serial=PLATFORM_SERIAL)
    await ResponseValidator(verifier, at(1700000001)).validate(headers, BODY_76A)
    headers["Wechatpay-Serial"] = PLATFORM_SERIAL.lower()
    await ResponseValidator(verifier, at(1700000001)).validate(headers, BODY_76A)


async def test_combined_verifier_without_certificates_rejects_a_certificate_serial() -> None:
    verifier = CombinedVerifier(public_key=PublicKeyVerifier(PUBLIC_KEY_ID, PLATFORM_PUBLIC_KEY))
    headers = signed_headers(BODY_76A, timestamp=1700000001, serial=PLATFORM_SERIAL)
    with pytest.raises(UnknownSerialError, match="no platform certificates"):
        await ResponseValidator(verifier, at(1700000001)).validate(headers, BODY_76A)


async def test_combined_verifier_without_public_key_rejects_a_pub_key_id() -> None:
    verifier = CombinedVerifier(certificates=CertificateVerifier(certificate_store(1700000001)))
    with pytest.raises(UnknownSerialError, match="no public key"):
        await ResponseValidator(verifier, at(1700000001)).validate(headers_76a(), BODY_76A)


async def test_a_certificate_serial_signed_with_another_key_is_a_mismatch() -> None:
    verifier = CertificateVerifier(certificate_store(1700000001))
    headers = signed_headers(
        BODY_76A, timestamp=1700000001, serial=PLATFORM_SERIAL, key=other_platform_key()
    )
    with pytest.raises(SignatureMismatchError):
        await ResponseValidator(verifier, at(1700000001)).validate(headers, BODY_76A)


async def test_an_expired_certificate_is_not_used_for_verification() -> None:
    after_expiry = 1830297600 + 1  # 2028-01-01T00:00:01Z
    verifier = CertificateVerifier(certificate_store(after_expiry))
    headers = signed_headers(BODY_76A, timestamp=after_expiry, serial=PLATFORM_SERIAL)
    with pytest.raises(UnknownSerialError):
        await ResponseValidator(verifier, at(after_expiry)).validate(headers, BODY_76A)


async def test_error_messages_bound_attacker_controlled_serials() -> None:
    long_serial = "PUB_KEY_ID_" + "9" * 5000
    with pytest.raises(UnknownSerialError) as caught:
        await PublicKeyVerifier(PUBLIC_KEY_ID, PLATFORM_PUBLIC_KEY).verify(long_serial, b"", "")
    assert len(str(caught.value)) < 200
