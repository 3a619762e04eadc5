"""Fault injection: seeded, deterministic, global or per merchant (``/sandbox/faults``).

A scope is the global one (``mchid`` absent/null) or one merchant. A merchant's setting overrides
the global one field by field; unset fields fall back to the global scope, then to ``DEFAULTS``.
Each scope owns two ``random.Random`` streams seeded from its (effective) ``seed``: one for API
calls and one for notifications, so adding an API call to a test does not shift which
notification gets dropped. ``PUT`` replaces a scope's settings and restarts its streams.

Calls waiting out ``api_latency_ms`` can be counted (``Faults.held``) and are let go at once by
``clear`` (``DELETE /sandbox/faults``), so a test can hold calls "forever" and still end cleanly.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import PlainTextResponse, Response

__all__ = ["DEFAULTS", "ApiPlan", "FaultError", "Faults", "LatencyHold", "NotifyPlan", "run_api"]

WECHAT_PATHS = ["/v3/", "/pay/", "/secapi/", "/sns/"]

DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "notify_drop_rate": 0.0,
    "notify_duplicate_rate": 0.0,
    "notify_concurrent_duplicates": False,
    "notify_delay_seconds": 0.0,
    "notify_reorder": False,
    "notify_signtest_rate": 0.0,
    "api_latency_ms": 0,
    "api_system_error_rate": 0.0,
    "api_http_500_rate": 0.0,
    "api_http_503_rate": 0.0,
    "api_timeout_rate": 0.0,
    "api_timeout_seconds": 30.0,
    "api_fault_after_processing_rate": 0.5,
    "api_fault_paths": WECHAT_PATHS,
}
_RATES = {k for k in DEFAULTS if k.endswith("_rate")}
_BOOLS = {"notify_concurrent_duplicates", "notify_reorder"}
_API_KINDS = ("system_error", "http_500", "http_503", "timeout")
# With notify_reorder and no delay, first deliveries wait this long so that notifications born
# close together fall due in one batch, which is then delivered newest first.
REORDER_HOLD_SECONDS = 1.0


class FaultError(ValueError):
    """A ``PUT /sandbox/faults`` body that cannot be applied (answered with 400)."""


class LatencyHold:
    """Where calls wait out their latency; ``release`` ends every wait at once."""

    def __init__(self) -> None:
        self.waiting = 0
        self._released = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        self.waiting += 1
        try:
            await asyncio.wait_for(self._released.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            self.waiting -= 1

    def release(self) -> None:
        self._released.set()


@dataclass(frozen=True)
class ApiPlan:
    latency_seconds: float
    kind: str | None  # one of _API_KINDS
    after_processing: bool
    timeout_seconds: float
    hold: LatencyHold | None = None


@dataclass(frozen=True)
class NotifyPlan:
    drop: bool
    signtest: bool
    duplicate: bool
    concurrent: bool


def _validate(body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - set(DEFAULTS) - {"mchid"})
    if unknown:
        raise FaultError(f"unknown fault settings: {', '.join(unknown)}")
    settings: dict[str, Any] = {}
    for key, value in body.items():
        if key == "mchid" or value is None:
            continue
        if key in _BOOLS:
            if not isinstance(value, bool):
                raise FaultError(f"{key} must be true or false")
        elif key == "api_fault_paths":
            if not isinstance(value, list) or not all(
                isinstance(p, str) and p.startswith("/") for p in value
            ):
                raise FaultError("api_fault_paths must be a list of path prefixes like /v3/")
        elif key == "seed":
            if not isinstance(value, int) or isinstance(value, bool):
                raise FaultError("seed must be an integer")
        else:
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise FaultError(f"{key} must be a non-negative number")
            if key in _RATES and value > 1:
                raise FaultError(f"{key} must be between 0 and 1")
        settings[key] = value
    return settings


class Faults:
    def __init__(self, saved: dict[str, Any] | None = None) -> None:
        saved = saved or {}
        self._global: dict[str, Any] = dict(saved.get("global", {}))
        self._merchants: dict[str, dict[str, Any]] = {
            k: dict(v) for k, v in saved.get("merchants", {}).items()
        }
        self._streams: dict[tuple[str, str], random.Random] = {}
        self._hold = LatencyHold()

    @property
    def held(self) -> int:
        """How many API calls are waiting out ``api_latency_ms`` right now."""
        return self._hold.waiting

    def to_json(self) -> dict[str, Any]:
        """What ``GET /sandbox/faults`` shows (and the state file keeps)."""
        return {
            "global": dict(self._global),
            "merchants": {k: dict(v) for k, v in self._merchants.items()},
        }

    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Replace one scope's settings; FaultError if a field is unknown or out of range."""
        settings = _validate(body)
        mchid = body.get("mchid")
        effective = {**DEFAULTS, **self._global, **settings}
        api_rate = sum(float(effective[f"api_{kind}_rate"]) for kind in _API_KINDS)
        if api_rate > 1:
            raise FaultError("the api_*_rate fields together must not exceed 1")
        if mchid is None:
            self._global = settings
            self._streams.clear()
        else:
            self._merchants[str(mchid)] = settings
            self._streams = {k: v for k, v in self._streams.items() if k[0] != str(mchid)}
        return self.to_json()

    def clear(self, mchid: str | None = None) -> None:
        if mchid is None:
            self._global = {}
            self._merchants = {}
            # The latency the calls in flight were given is gone too: let them go now.
            self._hold.release()
            self._hold = LatencyHold()
        else:
            self._merchants.pop(mchid, None)
        self._streams.clear()

    def effective(self, mchid: str | None) -> dict[str, Any]:
        merchant = self._merchants.get(mchid or "", {})
        return {**DEFAULTS, **self._global, **merchant}

    def _stream(self, mchid: str | None, name: str) -> random.Random:
        scope = mchid if mchid is not None and mchid in self._merchants else ""
        key = (scope, name)
        if key not in self._streams:
            seed = self.effective(mchid)["seed"]
            self._streams[key] = random.Random(f"{seed}/{name}")  # noqa: S311
        return self._streams[key]

    def plan_api(self, mchid: str | None, path: str) -> ApiPlan | None:
        """What happens to one API call (None: the path is out of scope, nothing happens)."""
        settings = self.effective(mchid)
        if not any(path.startswith(prefix) for prefix in settings["api_fault_paths"]):
            return None
        rng = self._stream(mchid, "api")
        draw = rng.random()
        kind = None
        threshold = 0.0
        for candidate in _API_KINDS:
            threshold += float(settings[f"api_{candidate}_rate"])
            if draw < threshold:
                kind = candidate
                break
        after = kind is not None and rng.random() < float(
            settings["api_fault_after_processing_rate"]
        )
        return ApiPlan(
            latency_seconds=float(settings["api_latency_ms"]) / 1000,
            kind=kind,
            after_processing=after,
            timeout_seconds=float(settings["api_timeout_seconds"]),
            hold=self._hold,
        )

    def plan_notify(self, mchid: str, *, can_probe: bool) -> NotifyPlan:
        """Fate of one delivery attempt; three draws every time to keep the stream aligned."""
        settings = self.effective(mchid)
        rng = self._stream(mchid, "notify")
        drop, probe, duplicate = rng.random(), rng.random(), rng.random()
        return NotifyPlan(
            drop=drop < float(settings["notify_drop_rate"]),
            signtest=can_probe and probe < float(settings["notify_signtest_rate"]),
            duplicate=duplicate < float(settings["notify_duplicate_rate"]),
            concurrent=bool(settings["notify_concurrent_duplicates"]),
        )

    def first_delay(self, mchid: str) -> float:
        settings = self.effective(mchid)
        delay = float(settings["notify_delay_seconds"])
        if settings["notify_reorder"]:
            delay = max(delay, REORDER_HOLD_SECONDS)
        return delay

    def reorder(self, mchid: str) -> bool:
        return bool(self.effective(mchid)["notify_reorder"])


async def run_api(
    plan: ApiPlan | None,
    process: Callable[[], Awaitable[Response]],
    fault_response: Callable[[str], Response],
) -> Response:
    """Run one API call under its fault plan.

    A fault "after processing" lets the call change state first and then answers with the
    fault anyway: the caller cannot know the outcome, exactly the case clients must survive.
    """
    if plan is None:
        return await process()
    if plan.latency_seconds:
        if plan.hold is not None:
            await plan.hold.wait(plan.latency_seconds)
        else:
            await asyncio.sleep(plan.latency_seconds)
    if plan.kind is None:
        return await process()
    if plan.after_processing:
        await process()
    if plan.kind == "timeout":
        await asyncio.sleep(plan.timeout_seconds)
        return PlainTextResponse("504 Gateway Time-out", status_code=504)
    return fault_response(plan.kind)
