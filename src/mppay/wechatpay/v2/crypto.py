"""Decrypting the ``req_info`` of a v2 refund notification (spec 4.7).

AES-256-ECB with PKCS#7 padding, keyed with the lower-case hex MD5 of the API v2 key used as
32 ASCII bytes (not the 16 raw digest bytes). ECB carries no integrity check: a successful
decryption proves little on its own, so callers also check the outer ``appid``/``mch_id`` and
should query the refund before acting on it (spec 8.13).
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mppay.wechatpay.errors import DecryptionError

__all__ = ["decrypt_req_info", "req_info_key"]

_BLOCK_BYTES = 16


def req_info_key(api_v2_key: str) -> bytes:
    """The AES-256 key for ``req_info``: ``md5(api_v2_key)`` as 32 lower-case hex ASCII bytes.

    >>> req_info_key("192006250b4c09247ec02edce69f6a2d")
    b'd96eb16afdd491fa1e705096edbc2205'
    """
    # WeChat's protocol fixes MD5 here; it derives a key, it does not protect anything itself.
    return hashlib.md5(api_v2_key.encode("utf-8")).hexdigest().encode("ascii")  # noqa: S324


def decrypt_req_info(req_info_b64: str, api_v2_key: str) -> bytes:
    """Decrypt a Base64 ``req_info`` and return the plaintext bytes (``<root>...</root>`` XML).

    Whitespace inside the Base64 text is ignored (line-wrapped copies decrypt too); anything
    else that is not the standard alphabet is refused. Raises ``DecryptionError`` for bad
    Base64, a ciphertext that is empty or not a whole number of 16-byte blocks, or PKCS#7
    padding that is not exactly right (the usual sign of a wrong key or tampering).
    """
    compact = "".join(req_info_b64.split())
    try:
        ciphertext = base64.b64decode(compact.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise DecryptionError("req_info is not valid Base64") from None
    if not ciphertext or len(ciphertext) % _BLOCK_BYTES:
        raise DecryptionError(
            f"req_info is {len(ciphertext)} bytes; AES-ECB needs a non-empty multiple of 16"
        )
    # ECB is the mode WeChat chose for req_info; we can only decrypt what they send.
    decryptor = Cipher(algorithms.AES(req_info_key(api_v2_key)), modes.ECB()).decryptor()  # noqa: S305
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(_BLOCK_BYTES * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise DecryptionError(
            "req_info has invalid PKCS#7 padding (wrong API v2 key or tampered)"
        ) from None
