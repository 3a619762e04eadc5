"""The top-level public surface of mppay.wechatpay is a contract: changing it is deliberate."""

import mppay.wechatpay as wechatpay


def test_the_public_surface_is_pinned() -> None:
    assert sorted(wechatpay.__all__) == sorted(
        [
            "DEFAULT_BASE_URL",
            "PUBLIC_KEY_ID_PREFIX",
            "Clock",
            "FixedClock",
            "LoginSession",
            "MerchantConfig",
            "MiniProgramLoginClient",
            "NonceFactory",
            "RefundEvent",
            "RequestPaymentParams",
            "SignType",
            "SystemClock",
            "TradeBillParser",
            "TradeBillRecord",
            "TradeBillSummary",
            "TransactionEvent",
            "WeChatPayV2Client",
            "WeChatPayV3Client",
            "certificate_serial",
            "errors",
            "format_yuan",
            "load_certificate",
            "load_private_key",
            "load_public_key",
            "parse_yuan",
            "random_nonce",
        ]
    )
    for name in wechatpay.__all__:
        assert getattr(wechatpay, name) is not None
