"""WeChat Pay platform certificates, held by serial and refreshed when needed (spec §2.4).

``PlatformCertificateStore`` is wechatpay-go's *downloader*: it keeps every certificate that
is valid now (several overlap during rotation), downloads the list again when a message names
a serial it does not know, and on a schedule.

Refreshing on an unknown serial is what an attacker can trigger at will (any notification
with a random ``Wechatpay-Serial``), so it is rate-limited: at most one download attempt per
``min_refresh_interval`` seconds, and concurrent callers share one in-flight download.

Bootstrap: the store itself trusts whatever its downloader returns. The client's downloader
(``WeChatPayV3Client.download_certificates``) decrypts each certificate with the APIv3 key
(AES-GCM authenticates it) and validates the response signature with the certificates already
held, or, when none are held yet, with the certificates it just decrypted, as wechatpay-go
does on its first download.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from ..clock import Clock
from ..errors import (
    ConfigurationError,
    DecryptionError,
    MalformedMessageError,
    UnknownSerialError,
    WeChatPayError,
)
from ..keys import certificate_serial, load_certificate
from .aead import AEAD_AES_256_GCM, decrypt_aes_256_gcm
from .models import CertificateListResponse

__all__ = [
    "DEFAULT_MIN_REFRESH_INTERVAL_SECONDS",
    "DEFAULT_REFRESH_INTERVAL_SECONDS",
    "CertificateDownloader",
    "PlatformCertificate",
    "PlatformCertificateStore",
    "decrypt_certificate_list",
    "normalize_serial",
]

DEFAULT_REFRESH_INTERVAL_SECONDS = 12 * 3600
DEFAULT_MIN_REFRESH_INTERVAL_SECONDS = 60


def normalize_serial(serial: str) -> str:
    """Upper-case hex without leading zeros, so ``0a1b`` and ``A1B`` name the same certificate."""
    return serial.strip().upper().lstrip("0") or "0"


@dataclass(frozen=True)
class PlatformCertificate:
    """One platform certificate and the window in which it may verify signatures.

    ``effective_time`` / ``expire_time`` are WeChat's (from ``GET /v3/certificates``) narrowed
    to the X.509 validity, so a certificate is never used outside either window.
    """

    serial_no: str
    effective_time: datetime
    expire_time: datetime
    certificate: x509.Certificate = field(repr=False, compare=False)

    @classmethod
    def from_certificate(
        cls,
        certificate: x509.Certificate,
        *,
        serial_no: str | None = None,
        effective_time: datetime | None = None,
        expire_time: datetime | None = None,
    ) -> PlatformCertificate:
        """Wrap an X.509 certificate. Raises ``ConfigurationError`` for a non-RSA key and
        ``MalformedMessageError`` when ``serial_no`` does not match the certificate's serial."""
        if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
            raise ConfigurationError("platform certificate must hold an RSA key")
        actual = certificate_serial(certificate)
        if serial_no is not None and normalize_serial(serial_no) != normalize_serial(actual):
            raise MalformedMessageError(
                f"platform certificate serial {actual} does not match serial_no {serial_no[:64]!r}"
            )
        not_before = certificate.not_valid_before_utc
        not_after = certificate.not_valid_after_utc
        return cls(
            serial_no=(serial_no or actual).upper(),
            effective_time=max(not_before, effective_time or not_before),
            expire_time=min(not_after, expire_time or not_after),
            certificate=certificate,
        )

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        key = self.certificate.public_key()
        assert isinstance(key, rsa.RSAPublicKey)  # checked in from_certificate
        return key

    def is_valid_at(self, at: datetime) -> bool:
        """True when ``effective_time <= at < expire_time``."""
        return self.effective_time <= at < self.expire_time


def decrypt_certificate_list(
    listing: CertificateListResponse, api_v3_key: bytes
) -> list[PlatformCertificate]:
    """Decrypt every ``encrypt_certificate`` of a ``GET /v3/certificates`` answer.

    AAD is ``associated_data`` as given. Raises ``DecryptionError`` (naming the serial) when a
    certificate does not decrypt, ``MalformedMessageError`` for another algorithm, a plaintext
    that is not a PEM RSA certificate, or a ``serial_no`` that differs from the certificate's.
    """
    certificates = []
    for entry in listing.data:
        sealed = entry.encrypt_certificate
        label = f"certificate {entry.serial_no[:64]!r}"
        if sealed.algorithm != AEAD_AES_256_GCM:
            raise MalformedMessageError(f"{label}: unsupported algorithm {sealed.algorithm[:32]!r}")
        try:
            pem = decrypt_aes_256_gcm(
                api_v3_key, sealed.nonce, sealed.associated_data or "", sealed.ciphertext
            )
        except DecryptionError as exc:
            raise DecryptionError(f"{label}: {exc.message}") from exc
        try:
            certificate = load_certificate(pem)
        except ConfigurationError as exc:
            raise MalformedMessageError(
                f"{label} does not decrypt to a PEM RSA certificate"
            ) from exc
        certificates.append(
            PlatformCertificate.from_certificate(
                certificate,
                serial_no=entry.serial_no,
                effective_time=entry.effective_time,
                expire_time=entry.expire_time,
            )
        )
    return certificates


CertificateDownloader = Callable[[], Awaitable[Sequence[PlatformCertificate]]]
"""Fetches the current certificate list; the client passes its ``download_certificates``."""


class PlatformCertificateStore:
    """Platform certificates by serial, refreshed on an unknown serial and on a schedule.

    Without a ``downloader`` the store only holds what it was given.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        downloader: CertificateDownloader | None = None,
        certificates: Iterable[PlatformCertificate] = (),
        refresh_interval_seconds: float = DEFAULT_REFRESH_INTERVAL_SECONDS,
        min_refresh_interval_seconds: float = DEFAULT_MIN_REFRESH_INTERVAL_SECONDS,
    ) -> None:
        self._clock = clock
        self._downloader = downloader
        self._refresh_interval = refresh_interval_seconds
        self._min_refresh_interval = min_refresh_interval_seconds
        self._by_serial = {normalize_serial(c.serial_no): c for c in certificates}
        self._lock = asyncio.Lock()
        # Counts finished download attempts; a caller that waited for the lock compares it to
        # see whether someone else already refreshed while it was waiting.
        self._attempts = 0
        self._last_attempt: datetime | None = None
        self._last_success: datetime | None = None

    def get(self, serial: str) -> PlatformCertificate | None:
        """The certificate for ``serial`` if held and valid now; never downloads."""
        certificate = self._by_serial.get(normalize_serial(serial))
        if certificate is None or not certificate.is_valid_at(self._clock.now()):
            return None
        return certificate

    def valid_certificates(self) -> list[PlatformCertificate]:
        """Every held certificate that is valid now, newest ``effective_time`` first."""
        now = self._clock.now()
        valid = [c for c in self._by_serial.values() if c.is_valid_at(now)]
        return sorted(valid, key=lambda c: c.effective_time, reverse=True)

    def newest_serial(self) -> str | None:
        """Serial of the valid certificate that became effective last (for ``Wechatpay-Serial``)."""
        valid = self.valid_certificates()
        return valid[0].serial_no if valid else None

    async def find(self, serial: str) -> PlatformCertificate:
        """The valid certificate for ``serial``, refreshing the list once if it is unknown.

        The refresh happens only if the last download attempt is at least
        ``min_refresh_interval_seconds`` old. Raises ``UnknownSerialError`` when the serial is
        still unknown (a failed download is attached as ``__cause__``).
        """
        certificate = self.get(serial)
        if certificate is not None:
            return certificate
        if self._downloader is not None:
            seen = self._attempts
            async with self._lock:
                if self._attempts == seen and self._may_attempt():
                    try:
                        await self._download_locked()
                    except WeChatPayError as exc:
                        raise UnknownSerialError(
                            f"no platform certificate {serial[:64]!r}; refreshing the list "
                            f"failed ({type(exc).__name__})"
                        ) from exc
            certificate = self.get(serial)
        if certificate is None:
            raise UnknownSerialError(f"no valid platform certificate with serial {serial[:64]!r}")
        return certificate

    async def refresh(self) -> None:
        """Download the list now and replace the held certificates.

        Callers that arrive while a download is in flight wait for it instead of starting
        another. Raises whatever the downloader raises (the held set is then unchanged),
        ``MalformedMessageError`` for an empty list, and ``ConfigurationError`` without a
        downloader.
        """
        if self._downloader is None:
            raise ConfigurationError("this certificate store has no downloader")
        seen = self._attempts
        async with self._lock:
            if self._attempts == seen:
                await self._download_locked()

    async def refresh_if_due(self) -> bool:
        """Refresh when the last success is ``refresh_interval_seconds`` old (or never happened).

        Meant to be called from a periodic job. Returns whether a download happened; skips
        (returns ``False``) while rate-limited after a recent attempt. Raises like ``refresh``.
        """
        if self._downloader is None:
            return False
        now = self._clock.now()
        due = (
            self._last_success is None
            or (now - self._last_success).total_seconds() >= self._refresh_interval
        )
        if not due or not self._may_attempt():
            return False
        await self.refresh()
        return True

    def _may_attempt(self) -> bool:
        if self._last_attempt is None:
            return True
        elapsed = (self._clock.now() - self._last_attempt).total_seconds()
        return elapsed >= self._min_refresh_interval

    async def _download_locked(self) -> None:
        assert self._downloader is not None
        self._last_attempt = self._clock.now()
        try:
            downloaded = list(await self._downloader())
        finally:
            self._attempts += 1
        if not downloaded:
            raise MalformedMessageError("WeChat returned an empty platform certificate list")
        # WeChat lists every certificate that is still valid, so the list replaces ours.
        self._by_serial = {normalize_serial(c.serial_no): c for c in downloaded}
        self._last_success = self._clock.now()
