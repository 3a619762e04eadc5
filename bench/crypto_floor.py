"""The cryptographic floor of one order on this machine, measured in the same run.

A v3 order turned into ``wx.requestPayment`` params needs five RSA-2048 operations
(SHA256withRSA, PKCS#1 v1.5), all on this machine because the emulator stands in for WeChat:

1. the service signs the JSAPI prepay request (Authorization header),
2. WeChat (the emulator) verifies that signature,
3. WeChat signs its answer (Wechatpay-Signature),
4. the service verifies the answer,
5. the service signs ``paySign`` for ``wx.requestPayment``.

So 3 signatures + 2 verifications. The floor is the throughput the machine would have if
those were the only work: ``cpus / cpu_seconds_per_order``.
"""

from __future__ import annotations

import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bench.common import cpu_count

SIGNS_PER_ORDER = 3
VERIFIES_PER_ORDER = 2

_REQUEST = (
    b"POST\n/v3/pay/transactions/jsapi\n1764381600\n593BEC0C930BF1AFEB40B4A08C8FB242\n"
    + b'{"appid":"wx1234567890abcdef","mchid":"1900000001","description":"'
    + b"x" * 300
    + b'"}\n'
)
_RESPONSE = b'1764381600\n593BEC0C930BF1AFEB40B4A08C8FB242\n{"prepay_id":"wx29100000000000000000000000000000"}\n'
_PAY_SIGN = (
    b"wx1234567890abcdef\n1764381600\n593BEC0C930BF1AFEB40B4A08C8FB242\nprepay_id=wx29100000\n"
)


def measure(seconds: float) -> dict[str, Any]:
    """CPU seconds per signature, per verification and per order, single-threaded."""
    merchant = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wechat = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pad, digest = padding.PKCS1v15(), hashes.SHA256()

    def one_order() -> None:
        request_signature = merchant.sign(_REQUEST, pad, digest)
        merchant.public_key().verify(request_signature, _REQUEST, pad, digest)
        response_signature = wechat.sign(_RESPONSE, pad, digest)
        wechat.public_key().verify(response_signature, _RESPONSE, pad, digest)
        merchant.sign(_PAY_SIGN, pad, digest)

    for _ in range(20):  # warm up
        one_order()
    orders = 0
    start_cpu = time.process_time()
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(20):
            one_order()
        orders += 20
    per_order = (time.process_time() - start_cpu) / orders

    signature = merchant.sign(_REQUEST, pad, digest)
    public = merchant.public_key()
    count = 2000 if seconds >= 1 else 300
    start_cpu = time.process_time()
    for _ in range(count):
        public.verify(signature, _REQUEST, pad, digest)
    per_verify = (time.process_time() - start_cpu) / count
    per_sign = (per_order - VERIFIES_PER_ORDER * per_verify) / SIGNS_PER_ORDER
    cpus = cpu_count()
    return {
        "signs_per_order": SIGNS_PER_ORDER,
        "verifies_per_order": VERIFIES_PER_ORDER,
        "sign_ms": round(per_sign * 1000, 4),
        "verify_ms": round(per_verify * 1000, 4),
        "cpu_ms_per_order": round(per_order * 1000, 4),
        "cpus": cpus,
        "floor_orders_per_s": round(cpus / per_order, 1),
        # The service's own share: request signature, answer verification, paySign.
        "service_cpu_ms_per_order": round((2 * per_sign + per_verify) * 1000, 4),
    }
