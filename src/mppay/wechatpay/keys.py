"""Loading RSA keys and certificates from PEM text, with errors that say what is wrong.

The library opens no files: callers pass PEM text or bytes (``mppay.settings`` reads files).
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import ConfigurationError

__all__ = [
    "certificate_serial",
    "load_certificate",
    "load_private_key",
    "load_public_key",
]


def _as_bytes(pem: str | bytes) -> bytes:
    data = pem.encode("ascii", errors="replace") if isinstance(pem, str) else pem
    return data.strip() + b"\n"


def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    """Load an RSA private key from PEM (PKCS#8 ``BEGIN PRIVATE KEY`` or PKCS#1).

    Raises ``ConfigurationError`` (never echoing the key) when it is not an unencrypted RSA key.
    """
    try:
        key = serialization.load_pem_private_key(_as_bytes(pem), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            "merchant private key is not an unencrypted PEM private key "
            "(expected the content of apiclient_key.pem, not a file path or a certificate)"
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError("merchant private key must be an RSA key")
    if key.key_size < 2048:
        raise ConfigurationError(f"merchant private key is {key.key_size} bits; WeChat uses 2048")
    return key


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """Load an RSA public key from ``BEGIN PUBLIC KEY`` PEM, or take it from a certificate PEM."""
    data = _as_bytes(pem)
    key: object
    try:
        if b"BEGIN CERTIFICATE" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError("WeChat Pay public key is not a PEM public key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigurationError("WeChat Pay public key must be an RSA key")
    return key


def load_certificate(pem: str | bytes) -> x509.Certificate:
    """Load an X.509 certificate (a platform certificate) from PEM."""
    try:
        cert = x509.load_pem_x509_certificate(_as_bytes(pem))
    except ValueError as exc:
        raise ConfigurationError("platform certificate is not a PEM X.509 certificate") from exc
    if not isinstance(cert.public_key(), rsa.RSAPublicKey):
        raise ConfigurationError("platform certificate must hold an RSA key")
    return cert


def certificate_serial(cert: x509.Certificate) -> str:
    """The serial as WeChat writes it in ``Wechatpay-Serial``: upper-case hex, no leading zeros.

    >>> # e.g. 'D7CE59D1F522D701' for the certificate of spec 7.9
    """
    return format(cert.serial_number, "X")
