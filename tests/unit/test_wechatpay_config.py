import pytest

from mppay.wechatpay import MerchantConfig
from mppay.wechatpay.errors import ConfigurationError
from tests import spec_vectors as v


def make_config(**overrides: object) -> MerchantConfig:
    kwargs: dict[str, object] = {
        "mchid": v.V3_MCHID,
        "appid": v.V3_APPID,
        "merchant_serial_no": v.V3_MERCHANT_SERIAL,
        "merchant_private_key_pem": v.MERCHANT_KEY_PEM,
        "api_v3_key": v.V3_API_KEY_78,
        "api_v2_key": v.V2_KEY,
        "wechatpay_public_key_pem": v.PLATFORM_PUBLIC_KEY_PEM,
        "wechatpay_public_key_id": "PUB_KEY_ID_0000000000000000000000000000000001",
    }
    kwargs.update(overrides)
    return MerchantConfig.from_pem(**kwargs)  # type: ignore[arg-type]


def test_repr_masks_every_secret() -> None:
    text = repr(make_config())
    assert v.V3_API_KEY_78 not in text
    assert v.V2_KEY not in text
    assert "PRIVATE KEY" not in text
    assert "***" in text
    assert v.V3_MCHID in text


def test_api_v3_key_must_be_32_bytes() -> None:
    with pytest.raises(ConfigurationError, match="32"):
        make_config(api_v3_key="short")


def test_public_key_id_needs_the_official_prefix() -> None:
    with pytest.raises(ConfigurationError, match="PUB_KEY_ID_"):
        make_config(wechatpay_public_key_id="0114232134912410000000000000")


def test_a_file_path_instead_of_pem_is_explained_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError, match="not a file path") as info:
        make_config(merchant_private_key_pem="/etc/secret/apiclient_key.pem")
    assert "/etc/secret" not in str(info.value)


def test_base_url_loses_its_trailing_slash() -> None:
    assert make_config(base_url="http://127.0.0.1:8090/").base_url == "http://127.0.0.1:8090"
