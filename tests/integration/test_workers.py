"""``mppay serve --workers N``: several service processes on one port, supervised.

The exactly-once guarantees across processes are proven by tests/reliability/
test_multi_instance.py, which runs its two services with ``--workers 2``; here: the process
layout, a crashed process replaced, graceful stop, and the configurations refused."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.databases import PostgresFactory
from tests.support.processes import Process, merchant_env, run_serve, service, start_emulator


def _children(pid: int) -> set[int]:
    """Live service processes started by ``pid`` (not multiprocessing's resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z" and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


def _wait_for(condition: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture
def postgres_service(tmp_path: Path, postgres: PostgresFactory) -> Iterator[tuple[Process, str]]:
    database_url = asyncio.run(postgres.new_database())
    emulator, emulator_url = start_emulator(tmp_path)
    try:
        merchant = httpx.post(f"{emulator_url}/sandbox/merchants", json={}, timeout=30).json()
        env = merchant_env(
            merchant, emulator_url=emulator_url, database_url=database_url, api_version="v3"
        )
        process, url = service(env, tmp_path, name="service", worker=True, workers=2)
        process.start()
        try:
            yield process, url
        finally:
            process.stop()
    finally:
        emulator.stop()


@pytest.mark.postgres
def test_two_processes_serve_one_port_and_a_crashed_one_is_replaced(
    postgres_service: tuple[Process, str],
) -> None:
    process, url = postgres_service
    _wait_for(lambda: len(_children(process.pid)) == 2)
    first = _children(process.pid)
    assert httpx.get(f"{url}/healthz").status_code == 200

    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    _wait_for(lambda: len(_children(process.pid) - {victim}) == 2)
    assert victim not in _children(process.pid)
    assert all(httpx.get(f"{url}/healthz").status_code == 200 for _ in range(10))

    children = _children(process.pid)
    assert process.popen is not None
    process.popen.send_signal(signal.SIGTERM)
    assert process.popen.wait(timeout=40) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    assert "Traceback" not in process.log.read_text()


def test_several_processes_on_sqlite_are_refused(tmp_path: Path) -> None:
    result = run_serve(
        tmp_path,
        "--workers",
        "2",
        MPPAY_MCHID="1900000109",
        MPPAY_DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}",
    )
    assert result.returncode == 2
    assert "SQLite takes one writer process" in result.stderr


def test_several_processes_in_sandbox_are_refused(tmp_path: Path) -> None:
    result = run_serve(tmp_path, "--sandbox", "--workers", "2")
    assert result.returncode == 2
    assert "--workers must be 1 with --sandbox" in result.stderr
