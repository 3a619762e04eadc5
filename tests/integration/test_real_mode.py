"""Real mode: refuses to start without credentials; starts with explicit ones (here pointed at
an emulator running on its own, as a real deployment is pointed at api.mch.weixin.qq.com)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mppay.emulator import Emulator
from mppay.emulator import create_app as create_emulator_app
from mppay.runner import Stack, bind, make_server, serving, start_stack
from mppay.settings import Settings
from tests.support.processes import run_serve


def test_serve_in_real_mode_without_credentials_refuses_and_names_the_variable(
    tmp_path: Path,
) -> None:
    result = run_serve(tmp_path, "--real", MPPAY_MCHID="1900000109")
    assert result.returncode == 2
    assert "MPPAY_APPID is required outside sandbox mode" in result.stderr


def test_serve_that_lost_its_environment_refuses_instead_of_running_a_sandbox(
    tmp_path: Path,
) -> None:
    result = run_serve(tmp_path)
    assert result.returncode == 2
    assert "no merchant settings" in result.stderr
    assert "MPPAY_MCHID" in result.stderr
    assert "--sandbox" in result.stderr
    assert not (tmp_path / "var").exists()  # nothing was started or created


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_a_sandbox_refuses_a_non_loopback_host_without_sandbox_public(
    tmp_path: Path, host: str
) -> None:
    result = run_serve(tmp_path, "--sandbox", "--host", host)
    assert result.returncode == 2
    assert "--sandbox-public" in result.stderr
    assert not (tmp_path / "var").exists()


def test_the_in_process_emulator_binds_loopback_even_when_the_sandbox_is_public(
    tmp_path: Path,
) -> None:
    ready = tmp_path / "ready.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPPAY_")}
    argv = [sys.executable, "-m", "mppay", "serve", "--sandbox", "--sandbox-public"]
    argv += ["--host", "0.0.0.0", "--port", "0", "--emulator-port", "0"]
    argv += ["--no-worker", "--ready-file", str(ready)]
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready.exists(), log.read_text()
        info = json.loads(ready.read_text())
        assert info["service_url"].startswith("http://0.0.0.0:")
        assert info["emulator_url"].startswith("http://127.0.0.1:")
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_real_mode_starts_with_explicit_credentials_and_takes_payments(
    tmp_path: Path,
) -> None:
    emulator = Emulator()
    merchant = emulator.create_merchant(key_mode="certificate")
    emulator_socket = bind("127.0.0.1", 0)
    host, port = emulator_socket.getsockname()[:2]
    emulator_url = f"http://{host}:{port}"
    emulator.public_base_url = emulator_url
    service_socket = bind("127.0.0.1", 0)
    service_url = "http://{}:{}".format(*service_socket.getsockname()[:2])
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'real.sqlite3'}",
        appid=merchant["appid"],
        app_secret=merchant["app_secret"],
        mchid=merchant["mchid"],
        merchant_serial_no=merchant["merchant_serial_no"],
        merchant_private_key=merchant["merchant_private_key_pem"],
        api_v3_key=merchant["api_v3_key"],
        wechatpay_base_url=emulator_url,
        wechat_api_base_url=emulator_url,
        notify_base_url=service_url,
        admin_token=secrets.token_hex(32),
    )
    stack = await start_stack(
        settings, sandbox=False, service_socket=service_socket, run_worker=False
    )
    # The emulator runs next to it, as WeChat would.
    stack.servers.append(make_server(create_emulator_app(emulator), emulator_socket, "warning"))
    stack = Stack(stack.service, stack.service_url, emulator, emulator_url, stack.servers)
    async with serving(stack), httpx.AsyncClient(timeout=10) as http:
        code = (
            await http.post(f"{emulator_url}/sandbox/login", json={"appid": merchant["appid"]})
        ).json()
        token = (await http.post(f"{service_url}/api/login", json={"code": code["code"]})).json()[
            "token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        order = (
            await http.post(
                f"{service_url}/api/orders", json={"items": [{"product_id": "latte"}]}, headers=auth
            )
        ).json()
        pay = await http.post(f"{service_url}/api/orders/{order['id']}/pay", headers=auth)
        assert pay.status_code == 200, pay.text
        assert pay.json()["params"]["signType"] == "RSA"
