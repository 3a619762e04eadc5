"""Notifications: the outbox, the retry schedule, and delivery over HTTP (§2.5, §4.5, §4.7).

A notification is built once (same ``id``, same encrypted body on every retry); each attempt is
signed afresh with the wall-clock time, since merchants reject signatures older than 5 minutes.
Attempt n+1 falls due ``SCHEDULE[n-1]`` seconds of *business* time after attempt n was due, so
advancing the clock by a day replays the whole schedule in order, each attempt recorded with
the time it was due (``scheduled_at``) and the time it ran (``at``).

Success: v3 HTTP 200/204; v2 HTTP 200 with ``return_code`` SUCCESS; in both cases within
``ACK_TIMEOUT`` seconds of real time. A dropped attempt (fault) is recorded as ``dropped`` and
counts as a failed one: the schedule goes on.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import Any

import httpx

from . import ids
from .auth import signature_headers
from .clock import BusinessClock, format_rfc3339
from .faults import Faults
from .messages import acknowledged, as_paid, attempt_json, build_body
from .state import Attempt, EmulatorState, Merchant, Order, OutboxEntry, Refund

__all__ = ["ACK_TIMEOUT", "SCHEDULE", "Notifier", "attempt_json"]

log = logging.getLogger("mppay.emulator.notifier")

SCHEDULE = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
ACK_TIMEOUT = 5.0
_EXCERPT = 500


class Notifier:
    def __init__(
        self,
        state: EmulatorState,
        clock: BusinessClock,
        faults: Faults,
        *,
        wall_clock: Callable[[], float],
        transport: httpx.AsyncBaseTransport | None = None,
        client_factory: Callable[[], httpx.AsyncClient] | None = None,
        before_pump: Callable[[], object] | None = None,
        ack_timeout: float = ACK_TIMEOUT,
    ) -> None:
        self.state = state
        self.clock = clock
        self.faults = faults
        self.wall_clock = wall_clock
        self._transport = transport
        self._client_factory = client_factory
        self._before_pump = before_pump
        self.ack_timeout = ack_timeout
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    # -- queueing -------------------------------------------------------------------------

    def enqueue(self, event_type: str, order: Order, refund: Refund | None) -> OutboxEntry | None:
        """Queue what WeChat would send for this event (nothing when there is no notify URL)."""
        merchant = self.state.merchants[order.mchid]
        url = refund.notify_url if refund is not None else order.notify_url
        if not url:
            return None
        api = refund.api if refund is not None else order.api
        now = self.clock.now()
        body = build_body(merchant, event_type, order, refund, api=api, create_time=now)
        entry = OutboxEntry(
            id=ids.notification_id(),
            seq=self.state.next_seq(),
            mchid=order.mchid,
            api=api,
            event_type=event_type,
            url=url,
            out_trade_no=order.out_trade_no,
            out_refund_no=refund.out_refund_no if refund is not None else None,
            body=body.decode("utf-8"),
            created_at=now,
            next_due=now + self.faults.first_delay(order.mchid),
        )
        self.state.outbox.append(entry)
        return entry

    def outbox(self) -> list[dict[str, Any]]:
        return [
            {
                "id": e.id,
                "mchid": e.mchid,
                "api": e.api,
                "event_type": e.event_type,
                "url": e.url,
                "out_trade_no": e.out_trade_no,
                "out_refund_no": e.out_refund_no,
                "attempts": e.attempts,
                "state": e.state,
                "next_attempt_at": format_rfc3339(e.next_due) if e.state == "pending" else None,
                "next_attempt_unix": e.next_due if e.state == "pending" else None,
            }
            for e in self.state.outbox
        ]

    # -- delivery -------------------------------------------------------------------------

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def busy(self) -> bool:
        return self._lock is not None and self._lock.locked()

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop:
            if self._client_factory is not None:
                self._http = self._client_factory()
            else:
                # trust_env=False: a proxy set for the outside world must not swallow local URLs.
                self._http = httpx.AsyncClient(transport=self._transport, trust_env=False)
            self._http_loop = loop
        return self._http

    def http_client(self) -> httpx.AsyncClient:
        """The client deliveries use (one per event loop); message pushes share it."""
        return self._client()

    async def aclose(self) -> None:
        if self._http is not None and self._http_loop is asyncio.get_running_loop():
            await self._http.aclose()
        self._http = None

    async def deliver_due(self) -> int:
        """Deliver everything due on the business clock, catching up on missed retries.

        Returns the number of attempts made. Only one pump runs at a time per event loop.
        """
        async with self._loop_lock():
            made = 0
            for _ in range(100_000):
                if self._before_pump is not None:
                    self._before_pump()
                now = self.clock.now()
                due = [e for e in self.state.outbox if e.state == "pending" and e.next_due <= now]
                if not due:
                    break
                due.sort(key=lambda e: (e.next_due, e.seq))
                in_order = [e for e in due if not self.faults.reorder(e.mchid)]
                reordered = sorted(
                    (e for e in due if self.faults.reorder(e.mchid)),
                    key=lambda e: e.seq,
                    reverse=True,
                )

                async def sequential(entries: list[OutboxEntry]) -> None:
                    for entry in entries:
                        await self._deliver(entry)

                await asyncio.gather(*(self._deliver(e) for e in in_order), sequential(reordered))
                made += len(due)
            return made

    def _headers(self, entry: OutboxEntry, body: bytes) -> dict[str, str]:
        if entry.api == "v2":
            return {"Content-Type": "text/xml; charset=utf-8"}
        key, serial = self.state.merchants[entry.mchid].signer(None)
        headers = signature_headers(key, serial, body, timestamp=str(int(self.wall_clock())))
        headers["Content-Type"] = "application/json"
        return headers

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, bytes, str | None]:
        client = self._client()
        try:
            # wait_for as well: in-process transports (ASGITransport) ignore httpx timeouts.
            response = await asyncio.wait_for(
                client.post(url, content=body, headers=headers, timeout=self.ack_timeout),
                self.ack_timeout,
            )
        except (TimeoutError, httpx.TimeoutException):
            return None, b"", f"timeout: no answer within {self.ack_timeout:g} s"
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            # A merchant's unusable URL is that delivery's failure, never the pump's.
            return None, b"", f"{type(exc).__name__}: {exc}"
        return response.status_code, response.content, None

    def _record(
        self,
        entry: OutboxEntry,
        *,
        attempt: int,
        kind: str,
        outcome: str,
        status: int | None,
        body: bytes,
        error: str | None,
        scheduled_at: float,
        at: float,
    ) -> Attempt:
        record = Attempt(
            seq=self.state.next_seq(),
            notification_id=entry.id,
            mchid=entry.mchid,
            api=entry.api,
            event_type=entry.event_type,
            url=entry.url,
            out_trade_no=entry.out_trade_no,
            out_refund_no=entry.out_refund_no,
            attempt=attempt,
            kind=kind,
            outcome=outcome,
            status_code=status,
            response_body=body[:_EXCERPT].decode("utf-8", "replace"),
            error=error,
            scheduled_at=scheduled_at,
            at=at,
        )
        self.state.attempts.append(record)
        return record

    async def _one(
        self, entry: OutboxEntry, body: bytes, headers: dict[str, str], **meta: Any
    ) -> bool:
        status, answer, error = await self._post(entry.url, body, headers)
        ok = status is not None and acknowledged(entry.api, status, answer)
        self._record(
            entry,
            outcome="success" if ok else "failure",
            status=status,
            body=answer,
            error=error,
            **meta,
        )
        return ok

    async def _deliver(self, entry: OutboxEntry) -> None:
        plan = self.faults.plan_notify(entry.mchid, can_probe=entry.api == "v3")
        number = entry.attempts + 1
        scheduled = entry.next_due
        entry.attempts = number
        meta: dict[str, Any] = {
            "attempt": number,
            "scheduled_at": scheduled,
            "at": self.clock.now(),
        }
        body = entry.body.encode("utf-8")
        headers = self._headers(entry, body)
        if plan.signtest:
            await self._probe(entry, body, headers, meta)
        if plan.drop:
            self._record(
                entry, kind="delivery", outcome="dropped", status=None, body=b"", error=None, **meta
            )
            delivered = False
        elif plan.duplicate and plan.concurrent:
            results = await asyncio.gather(
                self._one(entry, body, headers, kind="delivery", **meta),
                self._one(entry, body, headers, kind="duplicate", **meta),
            )
            delivered = any(results)
        else:
            delivered = await self._one(entry, body, headers, kind="delivery", **meta)
            if plan.duplicate:
                delivered = await self._one(entry, body, headers, kind="duplicate", **meta) or (
                    delivered
                )
        if delivered:
            entry.state = "delivered"
        elif number > len(SCHEDULE):
            entry.state = "gave_up"
        else:
            entry.next_due = scheduled + SCHEDULE[number - 1]

    async def _probe(
        self, entry: OutboxEntry, body: bytes, headers: dict[str, str], meta: dict[str, Any]
    ) -> None:
        probe_headers = dict(headers)
        probe_headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + secrets.token_urlsafe(48)
        status, answer, error = await self._post(entry.url, body, probe_headers)
        outcome = (
            "failure" if status is None else "probe_accepted" if status < 400 else "probe_rejected"
        )
        self._record(
            entry, kind="signtest", outcome=outcome, status=status, body=answer, error=error, **meta
        )

    async def send_once(
        self,
        merchant: Merchant,
        event_type: str,
        order: Order,
        refund: Refund | None,
        *,
        api: str,
        url: str,
        overrides: dict[str, Any] | None,
    ) -> Attempt:
        """Deliver one extra notification now (no faults, no retries): ``/sandbox/.../send``."""
        now = self.clock.now()
        if event_type == "TRANSACTION.SUCCESS":
            order = as_paid(order, now)
        body = build_body(
            merchant, event_type, order, refund, api=api, create_time=now, overrides=overrides
        )
        entry = OutboxEntry(
            id=ids.notification_id(),
            seq=self.state.next_seq(),
            mchid=merchant.mchid,
            api=api,
            event_type=event_type,
            url=url,
            out_trade_no=order.out_trade_no,
            out_refund_no=refund.out_refund_no if refund is not None else None,
            body=body.decode("utf-8"),
            created_at=now,
            next_due=now,
            attempts=1,
            state="manual",
        )
        status, answer, error = await self._post(url, body, self._headers(entry, body))
        ok = status is not None and acknowledged(api, status, answer)
        return self._record(
            entry,
            attempt=1,
            kind="manual",
            outcome="success" if ok else "failure",
            status=status,
            body=answer,
            error=error,
            scheduled_at=now,
            at=now,
        )

    def drop_pending(self, mchid: str, out_trade_no: str) -> int:
        """Lose every payment notification still owed for this order, for good (a scenario:
        WeChat's retries all failed to arrive); how many. Each shows as one dropped attempt."""
        dropped = 0
        now = self.clock.now()
        for entry in self.state.outbox:
            if (
                entry.state == "pending"
                and entry.mchid == mchid
                and entry.out_trade_no == out_trade_no
                and entry.out_refund_no is None
            ):
                entry.attempts += 1
                entry.state = "gave_up"
                self._record(
                    entry,
                    attempt=entry.attempts,
                    kind="delivery",
                    outcome="dropped",
                    status=None,
                    body=b"",
                    error=None,
                    scheduled_at=entry.next_due,
                    at=now,
                )
                dropped += 1
        return dropped

    async def probe_pending(self, mchid: str, out_trade_no: str) -> int:
        """Send WeChat's SIGNTEST probe (a deliberately bad signature) for every v3 payment
        notification still owed for this order, ahead of the real delivery; how many."""
        probed = 0
        for entry in list(self.state.outbox):
            if (
                entry.state == "pending"
                and entry.api == "v3"
                and entry.mchid == mchid
                and entry.out_trade_no == out_trade_no
                and entry.out_refund_no is None
            ):
                body = entry.body.encode("utf-8")
                now = self.clock.now()
                meta = {"attempt": entry.attempts + 1, "scheduled_at": now, "at": now}
                await self._probe(entry, body, self._headers(entry, body), meta)
                probed += 1
        return probed
