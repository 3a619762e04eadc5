"""Fixtures: the emulator and a merchant notify receiver, each served by uvicorn on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mppay.emulator import Emulator, SandboxClock, create_app

from .harness import NotifyReceiver, ServerThread, V3Signer


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[NotifyReceiver, str]]:
    notify = NotifyReceiver()
    with ServerThread(notify.app()) as server:
        yield notify, server.url


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[tuple[Emulator, str]]:
    """A frozen business clock: time moves only through /sandbox/clock."""
    emulator = Emulator(clock=SandboxClock(start=time.time()), notify_timeout_seconds=1.0)
    with ServerThread(create_app(emulator)) as server:
        yield emulator, server.url


@pytest.fixture
def http(emulator_server: tuple[Emulator, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator_server[1], trust_env=False, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def merchant(emulator_server: tuple[Emulator, str]) -> dict[str, Any]:
    """A public-key merchant created through the sandbox API (shared by a module)."""
    with httpx.Client(base_url=emulator_server[1], trust_env=False) as client:
        response = client.post("/sandbox/merchants", json={"name": "测试商户<b>"})
        assert response.status_code == 201
        return dict(response.json())


@pytest.fixture
def v3(http: httpx.Client, merchant: dict[str, Any]) -> httpx.Client:
    """An httpx client that signs as ``merchant``."""
    http.auth = V3Signer(merchant)
    return http
