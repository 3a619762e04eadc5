"""The emulator's own cryptography, written against the spec (§2.2-2.5, §3, §4.2, §4.7, §7).

Pure functions over bytes and keys; nothing here reads a clock or draws a nonce, so every
function is checked against the spec vectors with fixed inputs. Deliberately independent of
``mppay.wechatpay``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

__all__ = [
    "aes_ecb_encrypt_req_info",
    "aes_gcm_encrypt",
    "generate_private_key",
    "load_private_key",
    "load_public_key",
    "private_key_pem",
    "public_key_pem",
    "rsa_sign",
    "rsa_verify",
    "self_signed_certificate",
    "sha1_hex",
    "v2_sign",
    "v2_sign_string",
    "v2_verify",
]


def generate_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("an RSA private key is required")
    return key


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("an RSA public key is required")
    return key


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#8 PEM, the format of ``apiclient_key.pem``."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_key_pem(key: rsa.RSAPublicKey) -> str:
    """SubjectPublicKeyInfo PEM (``-----BEGIN PUBLIC KEY-----``), the format of ``pub_key.pem``."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def self_signed_certificate(
    key: rsa.RSAPrivateKey, serial: int, *, not_before: datetime, years: int = 5
) -> x509.Certificate:
    """A platform certificate like WeChat's: RSA-2048, valid five years, upper-hex serial."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tenpay.com"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Tenpay.com CA Center"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (mppay emulator)"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before.astimezone(UTC))
        .not_valid_after(not_before.astimezone(UTC) + timedelta(days=365 * years))
        .sign(key, hashes.SHA256())
    )


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    """RSASSA-PKCS1-v1_5 with SHA-256, Base64 with padding (§2.2)."""
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def rsa_verify(key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    """True only for a valid signature; malformed Base64 is simply a bad signature."""
    try:
        signature = base64.b64decode(signature_b64.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def aes_gcm_encrypt(api_v3_key: str, nonce: str, associated_data: str, plaintext: bytes) -> str:
    """AEAD_AES_256_GCM as WeChat uses it: Base64(ciphertext ‖ 16-byte tag) (§2.5).

    The APIv3 key's 32 ASCII characters are the key bytes; the 12-character nonce is the IV.
    """
    key = api_v3_key.encode("utf-8")
    sealed = AESGCM(key).encrypt(nonce.encode("utf-8"), plaintext, associated_data.encode("utf-8"))
    return base64.b64encode(sealed).decode("ascii")


def aes_ecb_encrypt_req_info(api_v2_key: str, plaintext: bytes) -> str:
    """v2 refund ``req_info``: AES-256-ECB, PKCS#7, key = lower-hex MD5 of the APIv2 key (§4.7).

    ECB is what WeChat specifies for this field; the emulator must produce exactly that.
    """
    key = hashlib.md5(api_v2_key.encode("utf-8")).hexdigest().encode("ascii")  # noqa: S324
    pad = 16 - len(plaintext) % 16
    padded = plaintext + bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def v2_sign_string(params: dict[str, str], api_v2_key: str) -> str:
    """``k1=v1&k2=v2...&key=KEY`` over non-empty params except ``sign``, ASCII-sorted (§4.2)."""
    pairs = [f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != ""]
    return "&".join([*pairs, f"key={api_v2_key}"])


def v2_sign(params: dict[str, str], api_v2_key: str, sign_type: str = "MD5") -> str:
    """Upper-case hex MD5 (default) or HMAC-SHA256 keyed with the APIv2 key (§4.2 step 5)."""
    message = v2_sign_string(params, api_v2_key).encode("utf-8")
    if sign_type == "HMAC-SHA256":
        return hmac.new(api_v2_key.encode("utf-8"), message, hashlib.sha256).hexdigest().upper()
    if sign_type == "MD5":
        return hashlib.md5(message).hexdigest().upper()  # noqa: S324
    raise ValueError(f"unknown v2 sign type {sign_type!r}")


def v2_verify(params: dict[str, str], api_v2_key: str, sign_type: str) -> bool:
    """Constant-time check of ``params['sign']`` (WeChat accepts lower-case hex too)."""
    given = params.get("sign", "")
    expected = v2_sign(params, api_v2_key, sign_type)
    return hmac.compare_digest(given.upper().encode("utf-8"), expected.encode("utf-8"))


def sha1_hex(data: bytes) -> str:
    """Lower-case hex SHA-1: the bill ``hash_value`` (§2.10)."""
    return hashlib.sha1(data).hexdigest()  # noqa: S324
