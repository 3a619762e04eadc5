"""The benchmarks never rot: ``python -m bench --quick`` runs every one of them and each
writes its JSON result with the keys the README reads. How fast is not checked here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmarks_run_and_report(tmp_path: Path) -> None:
    results = tmp_path / "results"
    env = dict(os.environ)
    server = env.get("MPPAY_TEST_DATABASE_URL")
    argv = [sys.executable, "-m", "bench", "--quick", "--results-dir", str(results)]
    argv += ["--database-url", server] if server else ["--no-postgres"]
    completed = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    databases = ["sqlite", "postgresql"] if server else ["sqlite"]

    prepay = json.loads((results / "prepay.json").read_text())
    assert prepay["quick"] is True
    assert prepay["crypto_floor"]["floor_orders_per_s"] > 0
    assert sorted(prepay["runs"]) == sorted(databases)
    for run in prepay["runs"].values():
        assert run["orders"] > 0
        assert run["errors"] == 0
        assert {"p50_ms", "p95_ms", "p99_ms"} <= set(run["latency"])
        assert {"service", "emulator", "loadgen"} <= set(run["cpu_ms_per_order"])
        assert run["fraction_of_floor"] > 0

    latency = json.loads((results / "latency.json").read_text())
    assert [run["latency_ms"] for run in latency["runs"]] == [0, 150, 150, 150]
    assert all(run["orders"] > 0 and run["errors"] == 0 for run in latency["runs"])
    assert latency["ratio_at_target_clients"] > 0

    notifications = json.loads((results / "notifications.json").read_text())
    assert sorted(notifications["runs"]) == sorted(databases)
    for run in notifications["runs"].values():
        assert run["notifications_per_s"] > 0
        assert run["duplicates"] > 0
        assert "p99_ms" in run["latency"]
        assert run["exactly_once"]["ok"], run["exactly_once"]

    scale = json.loads((results / "scale.json").read_text())
    if server:
        assert scale["reconciliation_correct"] is True
        assert scale["reconciliation"]["peak_rss_mb"] > 0
        assert "p99_ms" in scale["queries"]["order_lookup (get)"]
        assert "p99_ms" in scale["queries"]["order_sync_claim (JobRepository.claim)"]
    else:
        assert "skipped" in scale
