"""mppay.wechatpay: a typed, tested WeChat Pay protocol client (API v3 and legacy v2).

Imports nothing else from mppay, reads no environment or files, and takes time and nonces
from injected sources. See ``README.md`` in this folder for a usage example.

The most used names are re-exported here; every protocol step is also importable from
``mppay.wechatpay.v3`` / ``mppay.wechatpay.v2`` on its own.
"""

from . import errors
from .clock import Clock, FixedClock, NonceFactory, SystemClock, random_nonce
from .config import DEFAULT_BASE_URL, PUBLIC_KEY_ID_PREFIX, MerchantConfig
from .keys import certificate_serial, load_certificate, load_private_key, load_public_key
from .login import LoginSession, MiniProgramLoginClient
from .money import format_yuan, parse_yuan
from .request_payment import RequestPaymentParams, SignType
from .tradebill import TradeBillParser, TradeBillRecord, TradeBillSummary
from .v2 import WeChatPayV2Client
from .v3 import RefundEvent, TransactionEvent, WeChatPayV3Client

__all__ = [
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
