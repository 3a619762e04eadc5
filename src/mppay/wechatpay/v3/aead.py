"""AEAD_AES_256_GCM: how WeChat encrypts notification resources and platform certificates.

Spec §2.5: the key is the 32-character APIv3 key used as 32 raw bytes (not hex-decoded, not
hashed), the IV is the 12-character ``nonce``, the AAD is ``associated_data`` (an empty string
means empty AAD), and ``ciphertext`` is Base64 of ciphertext followed by the 16-byte tag.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import ConfigurationError, DecryptionError

__all__ = ["AEAD_AES_256_GCM", "decrypt_aes_256_gcm"]

AEAD_AES_256_GCM = "AEAD_AES_256_GCM"

_KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16


def decrypt_aes_256_gcm(
    key: bytes | str, nonce: str, associated_data: str, ciphertext_b64: str
) -> bytes:
    """Decrypt and authenticate one AES-256-GCM payload; return the plaintext bytes.

    Raises ``ConfigurationError`` when ``key`` is not 32 bytes, and ``DecryptionError`` (naming
    what failed, never the key) for a nonce that is not 12 bytes, invalid Base64, a payload
    shorter than the tag, or a tag that does not verify (wrong key, nonce or AAD, or tampering).
    """
    key_bytes = key.encode("utf-8") if isinstance(key, str) else key
    if len(key_bytes) != _KEY_BYTES:
        raise ConfigurationError("the APIv3 key must be exactly 32 bytes")
    nonce_bytes = nonce.encode("utf-8")
    if len(nonce_bytes) != _NONCE_BYTES:
        raise DecryptionError(f"AES-GCM nonce must be 12 bytes, got {len(nonce_bytes)}")
    try:
        sealed = base64.b64decode(ciphertext_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError("AES-GCM ciphertext is not valid Base64") from exc
    if len(sealed) < _TAG_BYTES:
        raise DecryptionError("AES-GCM ciphertext is shorter than its 16-byte tag")
    try:
        return AESGCM(key_bytes).decrypt(nonce_bytes, sealed, associated_data.encode("utf-8"))
    except InvalidTag as exc:
        raise DecryptionError(
            "AES-GCM tag does not verify: wrong APIv3 key, nonce or associated_data, "
            "or the ciphertext was altered"
        ) from exc
