"""AEAD_AES_256_GCM against spec §7.8, including every tamper position."""

from __future__ import annotations

import base64

import pytest

from mppay.wechatpay.errors import ConfigurationError, DecryptionError
from mppay.wechatpay.v3.aead import decrypt_aes_256_gcm
from tests import spec_vectors as v
from tests.unit.wechatpay_v3.helpers import aes_gcm_seal


def decrypt_78(ciphertext: str = v.V3_NOTIFY_CIPHERTEXT_78, **changes: str) -> bytes:
    args: dict[str, str] = {
        "key": v.V3_API_KEY_78,
        "nonce": v.V3_NOTIFY_NONCE_78,
        "associated_data": "transaction",
        "ciphertext_b64": ciphertext,
    }
    args.update(changes)
    return decrypt_aes_256_gcm(**args)


def test_vector_7_8_decrypts_to_the_exact_plaintext() -> None:
    assert decrypt_78() == v.V3_NOTIFY_PLAINTEXT_78.encode()


def test_the_key_may_be_given_as_bytes() -> None:
    plaintext = decrypt_aes_256_gcm(
        v.V3_API_KEY_78.encode(), v.V3_NOTIFY_NONCE_78, "transaction", v.V3_NOTIFY_CIPHERTEXT_78
    )
    assert plaintext == v.V3_NOTIFY_PLAINTEXT_78.encode()


def test_the_last_16_bytes_are_the_tag_of_vector_7_8() -> None:
    assert base64.b64decode(v.V3_NOTIFY_CIPHERTEXT_78)[-16:].hex() == (
        "9cc48bbd6a4c359d9842bc372de52f55"
    )


def test_flipping_any_byte_of_ciphertext_or_tag_fails() -> None:
    sealed = bytearray(base64.b64decode(v.V3_NOTIFY_CIPHERTEXT_78))
    for index in range(len(sealed)):
        tampered = bytearray(sealed)
        tampered[index] ^= 0x01
        with pytest.raises(DecryptionError, match="tag does not verify"):
            decrypt_78(base64.b64encode(bytes(tampered)).decode())


@pytest.mark.parametrize(
    "changes",
    [
        {"associated_data": "refund"},
        {"associated_data": ""},
        {"nonce": "fdasflkja485"},
        {"key": "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P7"},
    ],
)
def test_a_wrong_key_nonce_or_associated_data_fails(changes: dict[str, str]) -> None:
    with pytest.raises(DecryptionError):
        decrypt_78(**changes)


def test_empty_associated_data_means_empty_aad() -> None:
    sealed = aes_gcm_seal(b"{}", key=v.V3_API_KEY_78, nonce="abcdefghijkl", aad="")
    assert decrypt_aes_256_gcm(v.V3_API_KEY_78, "abcdefghijkl", "", sealed) == b"{}"


@pytest.mark.parametrize(
    ("ciphertext", "nonce", "reason"),
    [
        ("@@not-base64@@", "fdasflkja484", "Base64"),
        (base64.b64encode(b"short").decode(), "fdasflkja484", "shorter than"),
        (v.V3_NOTIFY_CIPHERTEXT_78, "tooshort", "12 bytes"),
    ],
)
def test_malformed_inputs_name_what_failed(ciphertext: str, nonce: str, reason: str) -> None:
    with pytest.raises(DecryptionError, match=reason):
        decrypt_78(ciphertext, nonce=nonce)


def test_a_key_that_is_not_32_bytes_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        decrypt_78(key="testMchAPIv3Key0")


def test_error_messages_never_contain_the_key() -> None:
    with pytest.raises(DecryptionError) as caught:
        decrypt_78(associated_data="x")
    assert v.V3_API_KEY_78 not in str(caught.value)
    assert v.V3_API_KEY_78 not in repr(caught.value)
