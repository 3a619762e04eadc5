import pytest

from mppay.settings import Settings, SettingsError

REAL = {
    "appid": "wx1234567890abcdef",
    "app_secret": "3f2b9c0d8e7a6b5c4d3e2f1a0b9c8d7e",
    "mchid": "1900000109",
    "merchant_serial_no": "3775B6A45ACD588826D15E583A95F5DD00000001",
    "merchant_private_key": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
    "api_v3_key": "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6",
    "notify_base_url": "https://shop.example.com",
    "admin_token": "9c2f7e4b1a8d3f6e0b5c2a7d4e1f8b3c6a9d2e5f",
}


def settings(**overrides: object) -> Settings:
    values = {**REAL, **overrides}
    return Settings(_env_file=None, **{k: v for k, v in values.items() if v is not None})  # type: ignore[arg-type]


def test_without_merchant_credentials_the_default_is_sandbox() -> None:
    assert not Settings(_env_file=None).has_merchant_credentials()  # type: ignore[call-arg]
    assert settings().has_merchant_credentials()


def test_complete_real_settings_pass() -> None:
    settings().check_real_mode()


@pytest.mark.parametrize(
    ("missing", "variable"),
    [
        ("mchid", "MPPAY_MCHID"),
        ("app_secret", "MPPAY_APP_SECRET"),
        ("api_v3_key", "MPPAY_API_V3_KEY"),
        ("notify_base_url", "MPPAY_NOTIFY_BASE_URL"),
        ("admin_token", "MPPAY_ADMIN_TOKEN"),
    ],
)
def test_a_missing_secret_is_named(missing: str, variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        settings(**{missing: None}).check_real_mode()


@pytest.mark.parametrize(
    "placeholder", ["changeme", "xxxxxxxx", "your-app-secret", "<secret>", "00000000000000000"]
)
def test_a_placeholder_secret_is_refused_without_echoing_it(placeholder: str) -> None:
    with pytest.raises(SettingsError, match="MPPAY_APP_SECRET looks like a placeholder") as info:
        settings(app_secret=placeholder).check_real_mode()
    assert placeholder not in str(info.value)


def test_v2_needs_its_own_key() -> None:
    with pytest.raises(SettingsError, match="MPPAY_API_V2_KEY"):
        settings(api_version="v2").check_real_mode()


def test_notify_url_must_be_https_when_talking_to_real_wechat() -> None:
    with pytest.raises(SettingsError, match="https"):
        settings(notify_base_url="http://shop.example.com").check_real_mode()
    settings(
        notify_base_url="http://127.0.0.1:8000", wechatpay_base_url="http://127.0.0.1:8090"
    ).check_real_mode()


def test_login_follows_the_payment_api_to_an_emulator_unless_told_otherwise() -> None:
    assert (
        settings(wechatpay_base_url="http://127.0.0.1:8090").wechat_api_base_url
        == "http://127.0.0.1:8090"
    )
    assert settings().wechat_api_base_url == "https://api.weixin.qq.com"
    explicit = settings(
        wechatpay_base_url="http://127.0.0.1:8090", wechat_api_base_url="http://127.0.0.1:9"
    )
    assert explicit.wechat_api_base_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    "token",
    [
        "sandbox-admin-token",  # printed in the README and the sandbox banner
        "reliability-admin-token-0123456789",  # words and a sequence, 34 characters
        "Password123!Password123!",
        "0123456789abcdef0123456789abcdef",  # hex-shaped but a repeated sequence
        "3f9c1e0b7d2a48e6",  # random, but only 64 bits
    ],
)
def test_real_mode_refuses_a_guessable_admin_token_and_names_the_variable(token: str) -> None:
    with pytest.raises(SettingsError, match="MPPAY_ADMIN_TOKEN") as info:
        settings(admin_token=token).check_real_mode()
    assert token not in str(info.value)


def test_real_mode_accepts_an_admin_token_from_openssl_rand_hex_32() -> None:
    import secrets

    settings(admin_token=secrets.token_hex(32)).check_real_mode()
    settings(admin_token=secrets.token_urlsafe(32)).check_real_mode()


def test_real_mode_refuses_a_guessable_metrics_token_and_names_the_variable() -> None:
    import secrets

    with pytest.raises(SettingsError, match="MPPAY_METRICS_TOKEN"):
        settings(metrics_token="metrics").check_real_mode()
    settings(metrics_token=secrets.token_hex(32)).check_real_mode()
    assert "metrics-secret" not in repr(settings(metrics_token="metrics-secret"))
