"""``mppay demo`` end to end: a real process, the whole loop, green (its run time is printed,
not asserted: timing belongs in bench/)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run_demo(**env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    # The demo ignores MPPAY_DATABASE_URL (it always uses a temporary SQLite file); a clean
    # environment keeps a developer's .env-style settings out of the way anyway.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MPPAY_")}
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "mppay", "demo"],
        cwd=REPO,
        env={**clean, "COLUMNS": "120", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return completed, time.monotonic() - started


@pytest.mark.parametrize("api_version", ["v3", "v2"])
def test_demo_runs_the_whole_loop_green(api_version: str) -> None:
    completed, elapsed = _run_demo(MPPAY_API_VERSION=api_version)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "every step succeeded" in output
    for seen in (
        "requestPayment:ok",
        f"/notify/{api_version}/payments",
        f"/notify/{api_version}/refunds",
        '"status": "PAID"',
        '"status": "PARTIALLY_REFUNDED"',
        "Order timeline",
        "refund.succeeded",
        "/wechat/message-push",
        '"state": "SETTLED"',
        "shipping.settled",
    ):
        assert seen in output, f"{seen!r} missing from:\n{output}"
    # wire messages are abbreviated: the paySign (RSA: 344 base64 chars, v2: 64 hex) is cut
    assert ("…(344 chars)" if api_version == "v3" else "…(64 chars)") in output
    print(f"mppay demo ({api_version}) took {elapsed:.1f} s")
