"""The public names of mppay.wechatpay.v3 are a contract (ADR 0001): changing them is deliberate."""

from __future__ import annotations

import mppay.wechatpay.v3 as v3

EXPECTED = {
    "AEAD_AES_256_GCM",
    "AUTHORIZATION_SCHEME",
    "DEFAULT_TIMEOUT",
    "SIGNATURE_PROBE_PREFIX",
    "SIGNATURE_TYPE",
    "USER_AGENT",
    "Amount",
    "BillDecoder",
    "CertificateDownloader",
    "CertificateVerifier",
    "CombinedVerifier",
    "GoodsDetail",
    "JsapiPrepayRequest",
    "NotificationParser",
    "OrderDetail",
    "Payer",
    "PlatformCertificate",
    "PlatformCertificateStore",
    "PrepayResponse",
    "PromotionDetail",
    "PublicKeyVerifier",
    "Refund",
    "RefundAmount",
    "RefundAmountRequest",
    "RefundEvent",
    "RefundNotificationAmount",
    "RefundRequest",
    "RefundResource",
    "RequestSigner",
    "ResponseValidator",
    "SceneInfo",
    "SettleInfo",
    "StoreInfo",
    "TradeBill",
    "Transaction",
    "TransactionAmount",
    "TransactionEvent",
    "TransactionPayer",
    "Verifier",
    "WeChatPayV3Auth",
    "WeChatPayV3Client",
    "build_authorization",
    "build_pay_sign_message",
    "build_request_message",
    "build_response_message",
    "decrypt_aes_256_gcm",
    "sign_message",
    "verify_signature",
}


def test_the_v3_public_surface_is_exactly_the_agreed_names() -> None:
    assert set(v3.__all__) == EXPECTED
    assert len(v3.__all__) == len(EXPECTED)


def test_every_public_name_resolves() -> None:
    for name in v3.__all__:
        assert getattr(v3, name) is not None
