"""mppay.wechatpay: a typed, tested WeChat Pay protocol client (API v3 and legacy v2).

Imports nothing else from mppay, reads no environment or files, and takes time and nonces from
injected sources.
"""

from .clock import Clock, FixedClock, NonceFactory, SystemClock, random_nonce
from .config import DEFAULT_BASE_URL, MerchantConfig
from .money import format_yuan, parse_yuan

__all__ = [
    "DEFAULT_BASE_URL",
    "Clock",
    "FixedClock",
    "MerchantConfig",
    "NonceFactory",
    "SystemClock",
    "format_yuan",
    "parse_yuan",
    "random_nonce",
]
