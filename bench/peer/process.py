"""Start the benchmark peer (``bench.peer.app``) under gunicorn against a bench ``Stack``'s
emulator and merchant, and check its payment loop end to end once.

Imports neither Flask nor the SDK: ``missing()`` says whether the ``bench`` extra is installed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tests.support.processes import Process, free_port

from bench.common import ORDER_BODY, Stack, clean_env

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("flask", "gunicorn", "wechatpayv3")
APP = "bench.peer.app"


def missing() -> list[str]:
    """The peer's modules that are not importable here (empty: it can run)."""
    return [name for name in MODULES if importlib.util.find_spec(name) is None]


@dataclass
class Peer:
    """``gunicorn -k gthread --workers W --threads T bench.peer.app:app`` on SQLite, talking to
    ``stack``'s emulator as ``stack``'s merchant (notifications come back to ``/notify``)."""

    stack: Stack
    folder: Path
    workers: int = 2
    threads: int = 8
    database: str = "sqlite"
    service_url: str = ""
    process: Process | None = field(default=None, repr=False)

    @property
    def emulator_url(self) -> str:
        return self.stack.emulator_url

    @property
    def merchant(self) -> dict[str, Any]:
        return self.stack.merchant

    @property
    def server(self) -> str:
        return f"gunicorn gthread {self.workers}x{self.threads}"

    def env(self) -> dict[str, str]:
        merchant = self.merchant
        env = clean_env()
        env.update(
            PEER_DATABASE=str(self.folder / "peer.sqlite3"),
            WECHAT_APPID=merchant["appid"],
            WECHAT_APP_SECRET=merchant["app_secret"],
            WECHAT_API_BASE_URL=self.emulator_url,
            WECHATPAY_MCHID=merchant["mchid"],
            WECHATPAY_CERT_SERIAL_NO=merchant["merchant_serial_no"],
            WECHATPAY_PRIVATE_KEY=merchant["merchant_private_key_pem"],
            WECHATPAY_APIV3_KEY=merchant["api_v3_key"],
            WECHATPAY_PUBLIC_KEY=merchant["wechatpay_public_key_pem"],
            WECHATPAY_PUBLIC_KEY_ID=merchant["wechatpay_public_key_id"],
            WECHATPAY_BASE_URL=self.emulator_url,
            WECHATPAY_NOTIFY_URL=f"{self.service_url}/notify",
        )
        return env

    def start(self) -> Peer:
        self.folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.service_url = f"http://127.0.0.1:{port}"
        env = self.env()
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", APP, "init-db"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        argv = [sys.executable, "-m", "gunicorn", "-k", "gthread"]
        argv += ["--workers", str(self.workers), "--threads", str(self.threads)]
        argv += ["--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT)]
        argv += ["--log-level", "warning", f"{APP}:app"]
        self.process = Process(
            "peer",
            argv,
            env,
            self.folder / "peer.log",
            health_url=f"{self.service_url}/api/products",
        ).start()
        return self

    @property
    def pids(self) -> dict[str, int]:
        """The gunicorn master (its workers are counted as its descendants) and the emulator."""
        assert self.process is not None
        assert self.stack.emulator is not None
        return {"service": self.process.pid, "emulator": self.stack.emulator.pid}

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def check_logs(self) -> list[str]:
        if self.process is None or not self.process.log.exists():
            return []
        text = self.process.log.read_text(errors="replace")
        return [f"peer log has a traceback: {text[-1500:]}"] if "Traceback" in text else []

    def check_paid(self, seconds: float = 15.0) -> bool:
        """One order through the whole loop: login, order, pay, the user confirms at the
        emulator (which checks paySign), the notification reaches ``/notify``, PAID."""
        appid = self.merchant["appid"]
        with httpx.Client(timeout=10) as client:
            login = client.post(f"{self.emulator_url}/sandbox/login", json={"appid": appid})
            login.raise_for_status()
            code, openid = login.json()["code"], login.json()["openid"]
            token = client.post(f"{self.service_url}/api/login", json={"code": code})
            auth = {"authorization": f"Bearer {token.json()['token']}"}
            order = client.post(f"{self.service_url}/api/orders", json=ORDER_BODY, headers=auth)
            order_id = order.json()["id"]
            paid = client.post(f"{self.service_url}/api/orders/{order_id}/pay", headers=auth)
            params = paid.json()["params"]
            confirm = client.post(
                f"{self.emulator_url}/sandbox/requestPayment",
                json={**params, "appId": appid, "openid": openid, "action": "confirm"},
            )
            if confirm.json().get("errMsg") != "requestPayment:ok":
                return False
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                answer = client.get(f"{self.service_url}/api/orders/{order_id}", headers=auth)
                if answer.json()["status"] == "PAID":
                    return True
                time.sleep(0.2)
        return False
