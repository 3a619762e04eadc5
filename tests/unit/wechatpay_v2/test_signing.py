import pytest

from mppay.wechatpay.errors import MissingHeaderError, SignatureMismatchError
from mppay.wechatpay.v2.signing import sign, sign_string, verify_sign
from tests import spec_vectors as v
from tests.unit.wechatpay_v2.fakes import wechat_sign


def test_official_example_7_2_signs_with_md5() -> None:
    assert sign(v.V2_PARAMS_72, v.V2_KEY, "MD5") == v.V2_MD5_72


def test_official_example_7_2_signs_with_hmac_sha256() -> None:
    assert sign(v.V2_PARAMS_72, v.V2_KEY, "HMAC-SHA256") == v.V2_HMAC_72


def test_sdk_example_7_2_extra_signs_with_both_algorithms() -> None:
    assert sign(v.V2_PARAMS_72_EXTRA, v.V2_KEY, "MD5") == v.V2_MD5_72_EXTRA
    assert sign(v.V2_PARAMS_72_EXTRA, v.V2_KEY, "HMAC-SHA256") == v.V2_HMAC_72_EXTRA


def test_md5_is_the_default_algorithm() -> None:
    assert sign(v.V2_PARAMS_72, v.V2_KEY) == v.V2_MD5_72


def test_request_payment_example_7_3_signs_with_md5_including_sign_type() -> None:
    params = {**v.V2_PAY_PARAMS_73, "signType": "MD5"}
    assert sign(params, v.V2_PAY_KEY_73, "MD5") == v.V2_PAY_MD5_73


def test_request_payment_example_7_3_signs_with_hmac_including_sign_type() -> None:
    params = {**v.V2_PAY_PARAMS_73, "signType": "HMAC-SHA256"}
    assert sign(params, v.V2_PAY_KEY_73, "HMAC-SHA256") == v.V2_PAY_HMAC_73


def test_unified_order_example_7_4_skips_the_empty_attach() -> None:
    assert sign_string(v.V2_PARAMS_74, v.V2_KEY) == v.V2_STRING_74
    assert sign(v.V2_PARAMS_74, v.V2_KEY, "MD5") == v.V2_MD5_74


def test_the_sign_field_itself_is_never_signed() -> None:
    with_sign = {**v.V2_PARAMS_72, "sign": "WHATEVER"}
    assert sign_string(with_sign, v.V2_KEY) == sign_string(v.V2_PARAMS_72, v.V2_KEY)


def test_keys_sort_by_ascii_so_upper_case_comes_first() -> None:
    assert sign_string({"b": "1", "B": "2", "a_1": "3", "a": "4"}, "K") == "B=2&a=4&a_1=3&b=1&key=K"


def test_sign_refuses_an_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="sign_type"):
        sign(v.V2_PARAMS_72, v.V2_KEY, "SHA1")  # type: ignore[arg-type]


def test_sign_refuses_params_that_declare_another_algorithm() -> None:
    with pytest.raises(ValueError, match="declare"):
        sign({**v.V2_PARAMS_72, "sign_type": "HMAC-SHA256"}, v.V2_KEY, "MD5")


def test_a_message_without_sign_type_verifies_with_md5() -> None:
    verify_sign({**v.V2_PARAMS_72, "sign": v.V2_MD5_72}, v.V2_KEY)


def test_a_message_declaring_hmac_verifies_with_hmac() -> None:
    params = {**v.V2_PARAMS_72, "sign_type": "HMAC-SHA256"}
    verify_sign({**params, "sign": wechat_sign(params, sign_type="HMAC-SHA256")}, v.V2_KEY)


def test_unknown_new_fields_are_part_of_what_is_verified() -> None:
    params = {**v.V2_PARAMS_72, "brand_new_field": "x"}
    verify_sign({**params, "sign": wechat_sign(params)}, v.V2_KEY)
    with pytest.raises(SignatureMismatchError):
        verify_sign({**params, "sign": v.V2_MD5_72}, v.V2_KEY)


def test_a_tampered_value_does_not_verify() -> None:
    tampered = {**v.V2_PARAMS_72, "body": "test2", "sign": v.V2_MD5_72}
    with pytest.raises(SignatureMismatchError):
        verify_sign(tampered, v.V2_KEY)


def test_the_wrong_key_does_not_verify() -> None:
    with pytest.raises(SignatureMismatchError):
        verify_sign({**v.V2_PARAMS_72, "sign": v.V2_MD5_72}, "another-key")


@pytest.mark.parametrize("sign_value", [None, ""])
def test_a_missing_sign_is_a_missing_header_error(sign_value: str | None) -> None:
    params = dict(v.V2_PARAMS_72)
    if sign_value is not None:
        params["sign"] = sign_value
    with pytest.raises(MissingHeaderError):
        verify_sign(params, v.V2_KEY)


def test_a_declared_hmac_message_signed_with_md5_is_not_accepted_by_falling_back() -> None:
    params = {**v.V2_PARAMS_72, "sign_type": "HMAC-SHA256"}
    md5_signed = {**params, "sign": wechat_sign(params, sign_type="MD5")}
    with pytest.raises(SignatureMismatchError):
        verify_sign(md5_signed, v.V2_KEY)


def test_an_md5_message_signed_with_hmac_is_not_accepted_by_falling_back() -> None:
    hmac_signed = {**v.V2_PARAMS_72, "sign": v.V2_HMAC_72}
    with pytest.raises(SignatureMismatchError):
        verify_sign(hmac_signed, v.V2_KEY)


def test_an_unsupported_declared_sign_type_is_rejected() -> None:
    params = {**v.V2_PARAMS_72, "sign_type": "SHA1"}
    with pytest.raises(SignatureMismatchError, match="unsupported"):
        verify_sign({**params, "sign": wechat_sign(params)}, v.V2_KEY)


def test_an_expected_sign_type_verifies_a_response_that_does_not_declare_it() -> None:
    verify_sign({**v.V2_PARAMS_72, "sign": v.V2_HMAC_72}, v.V2_KEY, sign_type="HMAC-SHA256")
    with pytest.raises(SignatureMismatchError):
        verify_sign({**v.V2_PARAMS_72, "sign": v.V2_MD5_72}, v.V2_KEY, sign_type="HMAC-SHA256")


def test_a_declared_sign_type_that_contradicts_the_expected_one_is_rejected() -> None:
    params = {**v.V2_PARAMS_72, "sign_type": "MD5"}
    with pytest.raises(SignatureMismatchError, match="expected"):
        verify_sign({**params, "sign": wechat_sign(params)}, v.V2_KEY, sign_type="HMAC-SHA256")


def test_a_lower_case_or_non_ascii_sign_is_a_mismatch_not_a_crash() -> None:
    with pytest.raises(SignatureMismatchError):
        verify_sign({**v.V2_PARAMS_72, "sign": v.V2_MD5_72.lower()}, v.V2_KEY)
    with pytest.raises(SignatureMismatchError):
        verify_sign({**v.V2_PARAMS_72, "sign": "签名"}, v.V2_KEY)


def test_a_mismatch_message_does_not_reveal_the_expected_sign_or_key() -> None:
    with pytest.raises(SignatureMismatchError) as caught:
        verify_sign({**v.V2_PARAMS_72, "sign": "0" * 32}, v.V2_KEY)
    assert v.V2_MD5_72 not in str(caught.value)
    assert v.V2_KEY not in str(caught.value)
