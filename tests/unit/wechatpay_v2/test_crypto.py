import base64

import pytest

from mppay.wechatpay.errors import DecryptionError
from mppay.wechatpay.v2.crypto import decrypt_req_info, req_info_key
from tests import spec_vectors as v


def flip_byte(b64: str, index: int) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_the_aes_key_is_the_lower_hex_md5_of_the_api_v2_key_as_ascii() -> None:
    key = req_info_key(v.V2_KEY)
    assert key == v.V2_REQ_INFO_AES_KEY_710.encode("ascii")
    assert len(key) == 32


def test_vector_7_10_decrypts_to_the_exact_plaintext() -> None:
    assert decrypt_req_info(v.V2_REQ_INFO_710, v.V2_KEY) == v.V2_REQ_INFO_PLAINTEXT_710.encode()


def test_line_wrapped_base64_still_decrypts() -> None:
    wrapped = "\n".join(v.V2_REQ_INFO_710[i : i + 76] for i in range(0, len(v.V2_REQ_INFO_710), 76))
    assert decrypt_req_info(wrapped, v.V2_KEY) == v.V2_REQ_INFO_PLAINTEXT_710.encode()


def test_the_wrong_key_fails_on_padding() -> None:
    with pytest.raises(DecryptionError, match="padding"):
        decrypt_req_info(v.V2_REQ_INFO_710, "0" * 32)


def test_a_tampered_last_block_fails_on_padding() -> None:
    with pytest.raises(DecryptionError):
        decrypt_req_info(flip_byte(v.V2_REQ_INFO_710, -1), v.V2_KEY)


def test_tampering_an_early_block_is_not_detected_by_ecb_itself() -> None:
    # Documents why callers must not trust req_info on decryption alone (spec 8.13).
    garbled = decrypt_req_info(flip_byte(v.V2_REQ_INFO_710, 20), v.V2_KEY)
    assert garbled != v.V2_REQ_INFO_PLAINTEXT_710.encode()
    assert garbled[32:] == v.V2_REQ_INFO_PLAINTEXT_710.encode()[32:]


@pytest.mark.parametrize("bad", ["not base64!!", "QUJD", "", "   ", "5Lit5paH" * 3, "QUJDRA=*"])
def test_bad_base64_or_wrong_length_is_a_decryption_error(bad: str) -> None:
    with pytest.raises(DecryptionError):
        decrypt_req_info(bad, v.V2_KEY)


def test_non_ascii_text_is_a_decryption_error() -> None:
    with pytest.raises(DecryptionError, match="Base64"):
        decrypt_req_info("中文", v.V2_KEY)


def test_errors_do_not_echo_the_key() -> None:
    with pytest.raises(DecryptionError) as caught:
        decrypt_req_info(v.V2_REQ_INFO_710, "my-secret-api-v2-key-0123456789ab")
    assert "my-secret" not in str(caught.value)
