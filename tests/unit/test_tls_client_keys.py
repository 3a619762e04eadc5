"""The v2 refund client's TLS certificate: inline PEM never stays on disk."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mppay.bootstrap import _secapi_client
from mppay.settings import Settings


def _certificate_and_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "1900000109")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return certificate.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def test_inline_pem_keys_are_deleted_as_soon_as_the_tls_client_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate, key = _certificate_and_key()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, merchant_certificate=certificate, merchant_private_key=key
    )
    client = _secapi_client(settings, httpx.Timeout(5))
    try:
        assert client is not None
        assert list(tmp_path.iterdir()) == []  # nothing of the key is left on disk
    finally:
        assert client is not None
        asyncio.run(client.aclose())


def test_key_files_given_by_path_are_used_where_they_are(tmp_path: Path) -> None:
    certificate, key = _certificate_and_key()
    (tmp_path / "cert.pem").write_text(certificate)
    (tmp_path / "key.pem").write_text(key)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        merchant_certificate=str(tmp_path / "cert.pem"),
        merchant_private_key=str(tmp_path / "key.pem"),
    )
    client = _secapi_client(settings, httpx.Timeout(5))
    assert client is not None
    asyncio.run(client.aclose())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cert.pem", "key.pem"]
