"""WeChat Pay API v3: signing, verification, AES-GCM, typed models, notifications, the client.

Start with ``WeChatPayV3Client``; the other names are the protocol steps it composes, each
usable on its own (the emulator's tests and the spec vectors exercise them directly).
"""

from .aead import AEAD_AES_256_GCM, decrypt_aes_256_gcm
from .auth import USER_AGENT, WeChatPayV3Auth
from .bills import BillDecoder
from .certificates import CertificateDownloader, PlatformCertificate, PlatformCertificateStore
from .client import DEFAULT_TIMEOUT, WeChatPayV3Client
from .models import (
    Amount,
    GoodsDetail,
    JsapiPrepayRequest,
    OrderDetail,
    Payer,
    PrepayResponse,
    PromotionDetail,
    Refund,
    RefundAmount,
    RefundAmountRequest,
    RefundNotificationAmount,
    RefundRequest,
    RefundResource,
    SceneInfo,
    SettleInfo,
    StoreInfo,
    TradeBill,
    Transaction,
    TransactionAmount,
    TransactionPayer,
)
from .notifications import NotificationParser, RefundEvent, TransactionEvent
from .signing import (
    AUTHORIZATION_SCHEME,
    RequestSigner,
    build_authorization,
    build_pay_sign_message,
    build_request_message,
    sign_message,
)
from .verification import (
    SIGNATURE_PROBE_PREFIX,
    SIGNATURE_TYPE,
    CertificateVerifier,
    CombinedVerifier,
    PublicKeyVerifier,
    ResponseValidator,
    Verifier,
    build_response_message,
    verify_signature,
)

__all__ = [
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
]
