"""PlatformCertificateStore: validity windows, refresh on unknown serial, rate limit, schedule."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from mppay.wechatpay.clock import FixedClock
from mppay.wechatpay.errors import (
    ConfigurationError,
    MalformedMessageError,
    TransportError,
    UnknownSerialError,
)
from mppay.wechatpay.v3.certificates import PlatformCertificate, PlatformCertificateStore
from tests.unit.wechatpay_v3.helpers import (
    NOW,
    PLATFORM_SERIAL,
    at,
    make_certificate,
    other_platform_key,
)

NEW_SERIAL = "7A1F000000000000000000000000000000000002"


def platform_certificate(
    serial: str = PLATFORM_SERIAL,
    effective_time: datetime | None = None,
    expire_time: datetime | None = None,
) -> PlatformCertificate:
    key = other_platform_key() if serial == NEW_SERIAL else None
    certificate = (
        make_certificate(serial=serial, key=key) if key else make_certificate(serial=serial)
    )
    return PlatformCertificate.from_certificate(
        certificate, effective_time=effective_time, expire_time=expire_time
    )


class CountingDownloader:
    """Returns a fixed list (or raises) and counts calls; optionally waits so calls overlap."""

    def __init__(
        self, certificates: Sequence[PlatformCertificate], *, error: Exception | None = None
    ) -> None:
        self.certificates = list(certificates)
        self.error = error
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> list[PlatformCertificate]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return self.certificates


def test_from_certificate_narrows_wechat_times_to_the_x509_validity() -> None:
    cert = platform_certificate(
        effective_time=datetime(2022, 1, 1, tzinfo=UTC),
        expire_time=datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert cert.effective_time == datetime(2023, 1, 1, tzinfo=UTC)
    assert cert.expire_time == datetime(2027, 1, 1, tzinfo=UTC)
    assert cert.serial_no == PLATFORM_SERIAL


def test_from_certificate_refuses_a_serial_no_that_is_not_the_certificates() -> None:
    with pytest.raises(MalformedMessageError, match="does not match"):
        PlatformCertificate.from_certificate(make_certificate(), serial_no="ABCDEF")


def test_get_ignores_certificates_outside_their_validity_window() -> None:
    cert = platform_certificate()
    store = PlatformCertificateStore(
        FixedClock(datetime(2022, 12, 31, tzinfo=UTC)), certificates=[cert]
    )
    assert store.get(PLATFORM_SERIAL) is None
    assert store.newest_serial() is None
    store = PlatformCertificateStore(
        FixedClock(datetime(2024, 1, 1, tzinfo=UTC)), certificates=[cert]
    )
    assert store.get(PLATFORM_SERIAL) is cert
    assert store.get("0" + PLATFORM_SERIAL.lower()) is cert
    store = PlatformCertificateStore(
        FixedClock(datetime(2028, 1, 1, tzinfo=UTC)), certificates=[cert]
    )
    assert store.get(PLATFORM_SERIAL) is None


def test_several_certificates_are_valid_at_once_and_the_newest_is_named() -> None:
    old = platform_certificate()
    new = platform_certificate(NEW_SERIAL, effective_time=datetime(2023, 6, 1, tzinfo=UTC))
    store = PlatformCertificateStore(at(NOW), certificates=[old, new])
    assert store.get(PLATFORM_SERIAL) is old
    assert store.get(NEW_SERIAL) is new
    assert store.newest_serial() == NEW_SERIAL


async def test_an_unknown_serial_triggers_one_refresh_and_then_the_new_serial_is_accepted() -> None:
    downloader = CountingDownloader([platform_certificate(), platform_certificate(NEW_SERIAL)])
    store = PlatformCertificateStore(
        at(NOW), downloader=downloader, certificates=[platform_certificate()]
    )
    found = await store.find(NEW_SERIAL)
    assert found.serial_no == NEW_SERIAL
    assert downloader.calls == 1
    assert await store.find(NEW_SERIAL) is found
    assert downloader.calls == 1


async def test_unknown_serials_cause_at_most_one_download_per_minute() -> None:
    clock = at(NOW)
    downloader = CountingDownloader([platform_certificate()])
    store = PlatformCertificateStore(clock, downloader=downloader)
    for attempt in range(5):
        with pytest.raises(UnknownSerialError):
            await store.find(f"BADBAD{attempt}")
    assert downloader.calls == 1
    clock.advance(59)
    with pytest.raises(UnknownSerialError):
        await store.find("BADBAD9")
    assert downloader.calls == 1
    clock.advance(1)
    with pytest.raises(UnknownSerialError):
        await store.find("BADBAD9")
    assert downloader.calls == 2


async def test_concurrent_callers_share_one_in_flight_refresh() -> None:
    downloader = CountingDownloader([platform_certificate(NEW_SERIAL)])
    downloader.gate = asyncio.Event()
    # No rate limit here, so only the shared in-flight download keeps this to one call.
    store = PlatformCertificateStore(at(NOW), downloader=downloader, min_refresh_interval_seconds=0)
    waiting = [asyncio.create_task(store.find(NEW_SERIAL)) for _ in range(10)]
    await asyncio.sleep(0)
    downloader.gate.set()
    found = await asyncio.gather(*waiting)
    assert {c.serial_no for c in found} == {NEW_SERIAL}
    assert downloader.calls == 1


async def test_a_failed_refresh_surfaces_as_unknown_serial_with_the_cause_attached() -> None:
    downloader = CountingDownloader([], error=TransportError("timed out"))
    store = PlatformCertificateStore(at(NOW), downloader=downloader)
    with pytest.raises(UnknownSerialError, match="refreshing the list failed") as caught:
        await store.find(NEW_SERIAL)
    assert isinstance(caught.value.__cause__, TransportError)


async def test_an_empty_download_keeps_the_certificates_already_held() -> None:
    held = platform_certificate()
    store = PlatformCertificateStore(
        at(NOW), downloader=CountingDownloader([]), certificates=[held]
    )
    with pytest.raises(MalformedMessageError):
        await store.refresh()
    assert store.get(PLATFORM_SERIAL) is held


async def test_concurrent_explicit_refreshes_share_one_download() -> None:
    downloader = CountingDownloader([platform_certificate()])
    downloader.gate = asyncio.Event()
    store = PlatformCertificateStore(at(NOW), downloader=downloader)
    waiting = [asyncio.create_task(store.refresh()) for _ in range(5)]
    await asyncio.sleep(0)
    downloader.gate.set()
    await asyncio.gather(*waiting)
    assert downloader.calls == 1


async def test_a_refresh_replaces_the_held_list() -> None:
    store = PlatformCertificateStore(
        at(NOW),
        downloader=CountingDownloader([platform_certificate(NEW_SERIAL)]),
        certificates=[platform_certificate()],
    )
    await store.refresh()
    assert store.get(PLATFORM_SERIAL) is None
    assert store.get(NEW_SERIAL) is not None


async def test_a_store_without_downloader_cannot_refresh() -> None:
    store = PlatformCertificateStore(at(NOW))
    with pytest.raises(ConfigurationError):
        await store.refresh()
    assert await store.refresh_if_due() is False
    with pytest.raises(UnknownSerialError):
        await store.find(PLATFORM_SERIAL)


async def test_refresh_if_due_downloads_every_twelve_hours() -> None:
    clock = at(NOW)
    downloader = CountingDownloader([platform_certificate()])
    store = PlatformCertificateStore(clock, downloader=downloader)
    assert await store.refresh_if_due() is True
    assert await store.refresh_if_due() is False
    clock.advance(12 * 3600 - 1)
    assert await store.refresh_if_due() is False
    clock.advance(1)
    assert await store.refresh_if_due() is True
    assert downloader.calls == 2


async def test_refresh_if_due_respects_the_rate_limit_after_a_failure() -> None:
    clock = at(NOW)
    downloader = CountingDownloader([], error=TransportError("refused"))
    store = PlatformCertificateStore(clock, downloader=downloader)
    with pytest.raises(TransportError):
        await store.refresh_if_due()
    assert await store.refresh_if_due() is False
    clock.advance(60)
    with pytest.raises(TransportError):
        await store.refresh_if_due()
    assert downloader.calls == 2
