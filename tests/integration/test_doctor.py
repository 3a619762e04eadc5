"""``mppay doctor`` against the emulator: a good configuration in each key mode passes, and
each broken one fails with its own message naming the variable to fix."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mppay.doctor import CheckResult, run_checks
from mppay.emulator import Emulator, create_app
from mppay.emulator.auth import signature_headers
from mppay.settings import Settings
from mppay.store.migrate import upgrade_to_head
from tests.integration.emulator.harness import ServerThread
from tests.support.databases import PostgresFactory


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[Emulator, str]]:
    emu = Emulator()
    with ServerThread(create_app(emu)) as server:
        emu.public_base_url = server.url
        yield emu, server.url


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('doctor') / 'mppay.sqlite3'}"
    upgrade_to_head(url)
    return url


def settings_for(
    merchant: dict[str, Any], emulator_url: str, database_url: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "appid": merchant["appid"],
        "app_secret": merchant["app_secret"],
        "mchid": merchant["mchid"],
        "merchant_serial_no": merchant["merchant_serial_no"],
        "merchant_private_key": merchant["merchant_private_key_pem"],
        "api_v3_key": merchant["api_v3_key"],
        "wechatpay_base_url": emulator_url,
        "notify_base_url": "http://127.0.0.1:8000",
        "admin_token": secrets.token_hex(32),
    }
    if merchant["key_mode"] == "public_key":
        values["wechatpay_public_key"] = merchant["wechatpay_public_key_pem"]
        values["wechatpay_public_key_id"] = merchant["wechatpay_public_key_id"]
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {result.name: result for result in results}


def only_failure(results: list[CheckResult]) -> CheckResult:
    failures = [result for result in results if not result.ok]
    assert len(failures) == 1, [(f.name, f.detail) for f in failures]
    return failures[0]


def other_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


async def test_public_key_mode_all_good_and_reports_public_key_live(
    emulator: tuple[Emulator, str], migrated_sqlite: str
) -> None:
    emu, url = emulator
    merchant = emu.create_merchant(key_mode="public_key")
    settings = settings_for(merchant, url, migrated_sqlite, api_v2_key=merchant["api_v2_key"])
    results = by_name(await run_checks(settings))
    assert all(r.ok for r in results.values()), [(r.name, r.detail) for r in results.values()]
    assert "ORDERNOTEXIST" in results["signed-call-v2"].detail  # v2 orders still served
    assert results["live-mode"].status == "pass"
    assert "public-key mode is live" in results["live-mode"].detail
    assert merchant["wechatpay_public_key_id"] in results["live-mode"].detail
    assert results["platform-certificates"].status == "skip"  # the merchant has none
    for name in ("settings", "merchant-key", "api-v3-key", "wechatpay-public-key", "login"):
        assert results[name].status == "pass", name
    assert "ORDER_NOT_EXIST" in results["signed-call-v3"].detail
    assert results["clock"].status == "pass"
    assert results["database"].status == "pass"


async def test_certificate_mode_all_good_and_reports_certificate_live(
    emulator: tuple[Emulator, str], migrated_sqlite: str
) -> None:
    emu, url = emulator
    merchant = emu.create_merchant(key_mode="certificate")
    results = by_name(await run_checks(settings_for(merchant, url, migrated_sqlite)))
    assert all(r.ok for r in results.values()), [(r.name, r.detail) for r in results.values()]
    assert results["platform-certificates"].status == "pass"
    assert merchant["platform_serial_no"] in results["platform-certificates"].detail
    assert "certificate mode is live" in results["live-mode"].detail
    assert results["wechatpay-public-key"].status == "skip"


async def test_migration_to_the_public_key_accepts_both_while_both_are_configured(
    emulator: tuple[Emulator, str], migrated_sqlite: str
) -> None:
    emu, url = emulator
    merchant = emu.create_merchant(key_mode="certificate")
    settings = settings_for(
        merchant,
        url,
        migrated_sqlite,
        wechatpay_public_key=merchant["wechatpay_public_key_pem"],
        wechatpay_public_key_id=merchant["wechatpay_public_key_id"],
    )
    results = by_name(await run_checks(settings))
    assert all(r.ok for r in results.values()), [(r.name, r.detail) for r in results.values()]
    live = results["live-mode"].detail
    assert "public-key mode is live" in live
    assert merchant["platform_serial_no"] in live  # still accepted during the migration

    # What the service does with notifications: one library client verifies both kinds.
    from mppay.bootstrap import merchant_config
    from mppay.wechatpay.v3 import WeChatPayV3Client

    async with WeChatPayV3Client(merchant_config(settings)) as client:
        assert client.certificate_store is not None
        await client.certificate_store.refresh()
        held = emu.state.merchants[merchant["mchid"]]
        body = b'{"id":"EV-1"}'
        for requested in (None, merchant["wechatpay_public_key_id"]):
            key, serial = held.signer(requested)
            headers = signature_headers(key, serial, body, timestamp=str(int(time.time())))
            await client.validator.validate(headers, body)  # raises if not accepted


async def test_wrong_private_key_is_refused_and_names_the_key_and_serial(
    emulator: tuple[Emulator, str], migrated_sqlite: str
) -> None:
    """Also step 2 of a key rotation: a new key WeChat does not know yet is caught here."""
    emu, url = emulator
    merchant = emu.create_merchant(key_mode="public_key")
    settings = settings_for(
        merchant, url, migrated_sqlite, merchant_private_key=other_private_key_pem()
    )
    results = await run_checks(settings)
    failure = only_failure(results)
    assert failure.name == "signed-call-v3"
    assert "refused our signature" in failure.detail
    assert failure.fix is not None
    assert "MPPAY_MERCHANT_PRIVATE_KEY" in failure.fix
    assert "MPPAY_MERCHANT_SERIAL_NO" in failure.fix


async def test_wrong_api_v2_key_is_refused_and_named(
    emulator: tuple[Emulator, str], migrated_sqlite: str
) -> None:
    emu, url = emulator
    merchant = emu.create_merchant(key_mode="public_key")
    settings = settings_for(merchant, url, migrated_sqlite, api_v2_key=secrets.token_hex(16))
    failure = only_failure(await run_checks(settings))
    assert failure.name == "signed-call-v2"
    assert "refused our signature" in failure.detail
    assert failure.fix is not None
    assert "MPPAY_API_V2_KEY" in failure.fix


async def test_wrong_api_v3_key_in_certificate_mode_names_it(
    emulator: tuple[Emulator, str], migrated_sqlite: str
) -> None:
    emu, url = emulator
    merchant = emu.create_merchant(key_mode="certificate")
    settings = settings_for(merchant, url, migrated_sqlite, api_v3_key=secrets.token_hex(16))
    results = by_name(await run_checks(settings))
    certificates = results["platform-certificates"]
    assert certificates.status == "fail"
    assert "do not decrypt with MPPAY_API_V3_KEY" in certificates.detail
    assert certificates.fix is not None
    assert "MPPAY_API_V3_KEY" in certificates.fix
    assert results["signed-call-v3"].ok  # the signature itself is fine


async def test_wrong_app_secret_names_it(
    emulator: tuple[Emulator, str], migrated_sqlite: str
) -> None:
    emu, url = emulator
    merchant = emu.create_merchant(key_mode="public_key")
    settings = settings_for(merchant, url, migrated_sqlite, app_secret=secrets.token_hex(16))
    failure = only_failure(await run_checks(settings))
    assert failure.name == "login"
    assert "MPPAY_APP_SECRET" in failure.detail


async def test_a_mchid_wechat_does_not_know_names_it(
    emulator: tuple[Emulator, str], migrated_sqlite: str
) -> None:
    emu, url = emulator
    merchant = emu.create_merchant(key_mode="public_key")
    settings = settings_for(merchant, url, migrated_sqlite, mchid="1999999999")
    results = by_name(await run_checks(settings))
    signed = results["signed-call-v3"]
    assert signed.status == "fail"
    assert "MCH_NOT_EXISTS" in signed.detail
    assert signed.fix is not None
    assert "MPPAY_MCHID" in signed.fix


async def test_clock_skew_against_wechat_is_reported(migrated_sqlite: str) -> None:
    emu = Emulator(wall_clock=lambda: time.time() + 30)
    with ServerThread(create_app(emu)) as server:
        merchant = emu.create_merchant(key_mode="public_key")
        failure = only_failure(
            await run_checks(settings_for(merchant, server.url, migrated_sqlite))
        )
    assert failure.name == "clock"
    assert "behind WeChat Pay (Wechatpay-Timestamp)" in failure.detail
    assert failure.fix is not None
    assert "NTP" in failure.fix


async def test_database_not_migrated_says_run_mppay_migrate_sqlite(
    emulator: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, url = emulator
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    merchant = emu.create_merchant(key_mode="public_key")
    failure = only_failure(await run_checks(settings_for(merchant, url, f"sqlite:///{empty}")))
    assert failure.name == "database"
    assert "no schema" in failure.detail
    assert failure.fix is not None
    assert "mppay migrate" in failure.fix
    missing = await run_checks(settings_for(merchant, url, f"sqlite:///{tmp_path / 'none.db'}"))
    assert "does not exist" in only_failure(missing).detail
    assert not (tmp_path / "none.db").exists()  # the doctor never creates a database


@pytest.mark.postgres
async def test_database_on_postgresql_not_migrated_then_migrated(
    emulator: tuple[Emulator, str], postgres_empty: PostgresFactory
) -> None:
    from mppay.doctor.database import check_database

    database_url = await postgres_empty.new_empty_database()
    before = await check_database(database_url)
    assert before.status == "fail"
    assert "no schema" in before.detail
    assert before.fix is not None
    assert "mppay migrate" in before.fix
    from mppay.store.db import create_engine
    from mppay.store.migrate import upgrade_to_head_async

    engine = create_engine(database_url)
    try:
        await upgrade_to_head_async(engine)
    finally:
        await engine.dispose()
    assert (await check_database(database_url)).status == "pass"


async def test_unreachable_database_is_reported(emulator: tuple[Emulator, str]) -> None:
    emu, url = emulator
    merchant = emu.create_merchant(key_mode="public_key")
    database_url = "postgresql://mppay:s3cret-pw@127.0.0.1:1/mppay"
    results = await run_checks(settings_for(merchant, url, database_url))
    failure = only_failure(results)
    assert failure.name == "database"
    assert "cannot connect to postgresql://mppay:***@127.0.0.1:1/mppay" in failure.detail
    assert "s3cret-pw" not in json.dumps([r.as_json() for r in results])


def _doctor(env_settings: Settings, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPPAY_")}
    for name, value in env_settings.model_dump(exclude_none=True).items():
        if isinstance(value, str):
            env[f"MPPAY_{name.upper()}"] = value
    return subprocess.run(
        [sys.executable, "-m", "mppay", "doctor", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_exits_0_with_json_when_all_pass_and_1_naming_the_fix_otherwise(
    emulator: tuple[Emulator, str], migrated_sqlite: str, tmp_path: Path
) -> None:
    emu, url = emulator
    merchant = emu.create_merchant(key_mode="public_key")
    good = settings_for(merchant, url, migrated_sqlite)
    result = _doctor(good, tmp_path, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert {c["name"] for c in report["checks"]} >= {"settings", "signed-call-v3", "clock"}

    broken = settings_for(merchant, url, migrated_sqlite, app_secret=secrets.token_hex(16))
    result = _doctor(broken, tmp_path)
    assert result.returncode == 1
    assert "✗ FAIL jscode2session" in result.stdout
    assert "WeChat refused MPPAY_APP_SECRET" in result.stdout
    assert "1 of 14 checks failed" in result.stdout
    assert broken.app_secret is not None
    assert broken.app_secret not in result.stdout
