"""Message push (消息推送) to a merchant's configured URL, signed (and encrypted) like WeChat.

Plain mode: the JSON (or XML) message in the clear, ``signature`` = sha1 over the sorted Token,
timestamp and nonce in the query string. Safe mode: the body is ``{"ToUserName","Encrypt"}``
(or its XML), ``Encrypt`` = base64 AES-256-CBC (key = base64 of EncodingAESKey + "=", IV = the
key's first 16 bytes, PKCS#7 to 32 bytes) over 16 random bytes, the 4-byte big-endian length,
the message and the appid; ``encrypt_type=aes`` and ``msg_signature`` (sha1 over the sorted
Token, timestamp, nonce and Encrypt) join the query.

Delivery: success is HTTP 200 within ``ACK_TIMEOUT`` real seconds (WeChat accepts "success" or
an empty body); otherwise WeChat tries again, three more times (``RETRIES``, 5 business seconds
apart: the guess the README names). Drops and duplicates follow the merchant's notification
fault settings. Each attempt is logged with the payment notifications (``api`` = ``push``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import struct
from collections.abc import Callable
from typing import Any

import httpx
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from . import ids
from .clock import BusinessClock
from .faults import Faults
from .shipping_state import PushEntry
from .state import Attempt, EmulatorState, Merchant
from .xmlcodec import build_cdata_xml

__all__ = ["ACK_TIMEOUT", "RETRIES", "Pushes", "encrypt_push", "push_signature"]

ACK_TIMEOUT = 5.0
RETRIES = (5, 5, 5)
_SYSTEM_USER = "o_wechat_trade_manage"  # FromUserName of system events (a guess)


def push_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324


def encrypt_push(aes_key: str, appid: str, message: bytes) -> str:
    key = base64.b64decode(aes_key + "=")
    plain = secrets.token_bytes(16) + struct.pack(">I", len(message)) + message + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")


def _encode(fmt: str, fields: dict[str, Any]) -> bytes:
    if fmt == "xml":
        return build_cdata_xml({k: str(v) for k, v in fields.items()})
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Pushes:
    def __init__(
        self,
        state: EmulatorState,
        clock: BusinessClock,
        faults: Faults,
        *,
        wall_clock: Callable[[], float],
        client: Callable[[], httpx.AsyncClient],
    ) -> None:
        self.state = state
        self.clock = clock
        self.faults = faults
        self.wall_clock = wall_clock
        self._client = client
        self._in_flight: set[str] = set()

    def enqueue(
        self, merchant: Merchant, event: str, transaction_id: str, extra: dict[str, Any]
    ) -> None:
        """Queue a push; merchants without a push URL get none (as WeChat: nowhere to send)."""
        if not merchant.push_url or not merchant.push_token:
            return
        now = self.clock.now()
        fields = {
            "ToUserName": f"gh_{merchant.appid[-12:]}",
            "FromUserName": _SYSTEM_USER,
            "CreateTime": int(now),
            "MsgType": "event",
            "Event": event,
            **extra,
        }
        self.state.pushes.append(
            PushEntry(
                id=ids.notification_id(),
                seq=self.state.next_seq(),
                mchid=merchant.mchid,
                event=event,
                transaction_id=transaction_id,
                fields=fields,
                created_at=now,
                next_due=now,
            )
        )

    def due(self) -> list[PushEntry]:
        now = self.clock.now()
        return [
            p
            for p in self.state.pushes
            if p.state == "pending" and p.next_due <= now and p.id not in self._in_flight
        ]

    def signed(self, merchant: Merchant, entry: PushEntry) -> tuple[dict[str, str], bytes]:
        """The query string and body of one attempt (fresh timestamp and nonce each time)."""
        assert merchant.push_token is not None
        timestamp, nonce = str(int(self.wall_clock())), ids.alnum(10)
        query = {
            "signature": push_signature(merchant.push_token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        message = _encode(merchant.push_format, entry.fields)
        if merchant.push_mode != "safe" or not merchant.push_aes_key:
            return query, message
        encrypted = encrypt_push(merchant.push_aes_key, merchant.appid, message)
        envelope = {"ToUserName": entry.fields["ToUserName"], "Encrypt": encrypted}
        query["encrypt_type"] = "aes"
        query["msg_signature"] = push_signature(merchant.push_token, timestamp, nonce, encrypted)
        return query, _encode(merchant.push_format, envelope)

    async def deliver_due(self) -> int:
        """Deliver every push due now; returns once none is in flight, so a caller (the sandbox
        clock, a test) sees every due push delivered, including those another pump took."""
        # Two pumps may run at once (the loop and a request's kick): each entry goes to one.
        entries = self.due()
        self._in_flight.update(e.id for e in entries)
        try:
            for entry in entries:
                await self._deliver(entry)
        finally:
            self._in_flight.difference_update(e.id for e in entries)
        # Polled, not an asyncio.Event: the emulator outlives event loops (tests run it under
        # several), and an Event binds to the first loop that waits on it.
        while self._in_flight:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        return len(entries)

    async def _deliver(self, entry: PushEntry) -> None:
        merchant = self.state.merchants[entry.mchid]
        plan = self.faults.plan_notify(entry.mchid, can_probe=False)
        entry.attempts += 1
        scheduled = entry.next_due
        if plan.drop:
            self._record(entry, merchant, "delivery", "dropped", None, b"", None, scheduled)
            delivered = False
        else:
            delivered = await self._one(entry, merchant, "delivery", scheduled)
            if plan.duplicate:
                delivered = await self._one(entry, merchant, "duplicate", scheduled) or delivered
        if delivered:
            entry.state = "delivered"
        elif entry.attempts > len(RETRIES):
            entry.state = "gave_up"
        else:
            entry.next_due = scheduled + RETRIES[entry.attempts - 1]

    async def _one(self, entry: PushEntry, merchant: Merchant, kind: str, scheduled: float) -> bool:
        query, body = self.signed(merchant, entry)
        assert merchant.push_url is not None
        content_type = "text/xml" if merchant.push_format == "xml" else "application/json"
        status: int | None = None
        answer, error = b"", None
        try:
            response = await asyncio.wait_for(
                self._client().post(
                    merchant.push_url,
                    params=query,
                    content=body,
                    headers={"Content-Type": content_type},
                    timeout=ACK_TIMEOUT,
                ),
                ACK_TIMEOUT,
            )
            status, answer = response.status_code, response.content
        except (TimeoutError, httpx.TimeoutException):
            error = f"timeout: no answer within {ACK_TIMEOUT:g} s"
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = status == 200
        outcome = "success" if ok else "failure"
        self._record(entry, merchant, kind, outcome, status, answer, error, scheduled)
        return ok

    def _record(
        self,
        entry: PushEntry,
        merchant: Merchant,
        kind: str,
        outcome: str,
        status: int | None,
        body: bytes,
        error: str | None,
        scheduled: float,
    ) -> None:
        order_no = str(entry.fields.get("merchant_trade_no", ""))
        self.state.attempts.append(
            Attempt(
                seq=self.state.next_seq(),
                notification_id=entry.id,
                mchid=entry.mchid,
                api="push",
                event_type=entry.event,
                url=merchant.push_url or "",
                out_trade_no=order_no,
                out_refund_no=None,
                attempt=entry.attempts,
                kind=kind,
                outcome=outcome,
                status_code=status,
                response_body=body[:500].decode("utf-8", "replace"),
                error=error,
                scheduled_at=scheduled,
                at=self.clock.now(),
            )
        )
