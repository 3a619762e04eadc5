"""Real processes for reliability tests and bench/: ``mppay emulator``, ``mppay serve``,
``mppay worker``."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

# Real mode refuses guessable admin tokens; each test run mints its own.
ADMIN_TOKEN = secrets.token_hex(32)
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], *, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {seconds} s")


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    health_url: str | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> Process:
        with self.log.open("ab") as handle:  # the child keeps its own copy of the descriptor
            self.popen = subprocess.Popen(
                self.argv, env=self.env, stdout=handle, stderr=subprocess.STDOUT
            )
        if self.health_url:
            try:
                wait_until_up(self.health_url, self.popen)
            except RuntimeError as exc:
                self.stop()
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{self.name} did not start: {exc}\n{tail}") from exc
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def kill_hard(self) -> None:
        """kill -9: no shutdown, no flush; whatever was in flight is lost."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


def mppay_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "mppay", *args]


def run_serve(cwd: Path, *args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """``mppay serve --port 0 ARGS`` run to its end (a refusal) with only ``environment``'s
    MPPAY_* settings; the caller reads its exit status and stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPPAY_")}
    env.update(environment)
    return subprocess.run(
        mppay_argv("serve", "--port", "0", *args),
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


def start_emulator(tmp: Path) -> tuple[Process, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = Process(
        "emulator",
        mppay_argv(
            "emulator",
            "--port",
            str(port),
            "--state-file",
            str(tmp / "emulator.json"),
            "--public-base-url",
            url,
        ),
        dict(os.environ),
        tmp / "emulator.log",
        health_url=f"{url}/sandbox/faults",
    ).start()
    return process, url


def merchant_env(
    merchant: dict[str, Any], *, emulator_url: str, database_url: str, api_version: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPPAY_")}
    env.update(
        MPPAY_DATABASE_URL=database_url,
        MPPAY_API_VERSION=api_version,
        MPPAY_APPID=merchant["appid"],
        MPPAY_APP_SECRET=merchant["app_secret"],
        MPPAY_MCHID=merchant["mchid"],
        MPPAY_MERCHANT_SERIAL_NO=merchant["merchant_serial_no"],
        MPPAY_MERCHANT_PRIVATE_KEY=merchant["merchant_private_key_pem"],
        MPPAY_API_V3_KEY=merchant["api_v3_key"],
        MPPAY_API_V2_KEY=merchant["api_v2_key"],
        MPPAY_WECHATPAY_PUBLIC_KEY=merchant["wechatpay_public_key_pem"],
        MPPAY_WECHATPAY_PUBLIC_KEY_ID=merchant["wechatpay_public_key_id"],
        MPPAY_WECHATPAY_BASE_URL=emulator_url,
        MPPAY_WECHAT_API_BASE_URL=emulator_url,
        MPPAY_ADMIN_TOKEN=ADMIN_TOKEN,
        MPPAY_WECHATPAY_TIMEOUT_SECONDS="2",
        MPPAY_LOG_LEVEL="WARNING",
        # Load from one address (127.0.0.1), users with many orders still open: lift the
        # per-IP login limit and the open-order cap, which would refuse it.
        MPPAY_LOGIN_RATE_BURST="100000",
        MPPAY_MAX_PENDING_ORDERS_PER_USER="100000",
    )
    return env


def service(
    env: dict[str, str], tmp: Path, *, name: str, worker: bool, workers: int = 1
) -> tuple[Process, str]:
    """``mppay serve`` in real mode against ``env``'s emulator, with ``workers`` processes."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service_env = {**env, "MPPAY_NOTIFY_BASE_URL": url}
    argv = mppay_argv("serve", "--real", "--port", str(port), "--workers", str(workers))
    argv.append("--worker" if worker else "--no-worker")
    return Process(name, argv, service_env, tmp / f"{name}.log", health_url=f"{url}/healthz"), url


def worker(env: dict[str, str], tmp: Path, *, name: str) -> Process:
    return Process(name, mppay_argv("worker"), env, tmp / f"{name}.log")
