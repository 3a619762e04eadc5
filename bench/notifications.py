"""Benchmark 3, notifications: a pre-generated stream of signed, encrypted v3 payment
notifications posted to ``/notify/v3/payments``, 30 % of them duplicates (half of those sent
while the original is still in flight), then an exactly-once check on the database.

Orders are created through the API first (login, create, pay), exactly as clients do; the
notifications are what WeChat would send for them: AEAD_AES_256_GCM with the APIv3 key,
SHA256withRSA with the WeChat Pay key (the bench registered the merchant with its own
WeChat-side key, so it can sign like WeChat), ``Wechatpay-Serial`` = the public key id.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import secrets
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import bindparam, text

from bench.common import (
    Databases,
    Options,
    Stack,
    _host_port,
    close_clients,
    console,
    cpu_between,
    cpu_snapshot,
    create_and_pay,
    latency_summary,
    login_clients,
    print_table,
    write_result,
)
from bench.httpclient import Connection

NAME = "notifications"
DUPLICATE_SHARE = 0.30
BEIJING = timezone(timedelta(hours=8))


def sizes(options: Options) -> dict[str, Any]:
    if options.quick:
        return {"orders": 150, "clients": 20, "senders": 8}
    return {"orders": 4000, "clients": 50, "senders": 32}


class NotificationForger:
    """Signs and encrypts v3 notifications the way WeChat does (spec §2.4, §2.5)."""

    def __init__(self, stack: Stack) -> None:
        merchant = stack.merchant
        loaded = serialization.load_pem_private_key(
            stack.wechatpay_private_key_pem.encode(), password=None
        )
        assert isinstance(loaded, rsa.RSAPrivateKey)
        self.key = loaded
        self.aead = AESGCM(merchant["api_v3_key"].encode())
        self.serial = merchant["wechatpay_public_key_id"]
        self.appid = merchant["appid"]
        self.mchid = merchant["mchid"]
        self.day = datetime.now(BEIJING).strftime("%Y%m%d")

    def transaction(self, order: dict[str, Any], number: int) -> dict[str, Any]:
        return {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": order["out_trade_no"],
            "transaction_id": f"4200{number:06d}{self.day}{secrets.randbelow(10**10):010d}",
            "trade_type": "JSAPI",
            "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功",
            "bank_type": "OTHERS",
            "attach": "",
            "success_time": datetime.now(BEIJING).isoformat(timespec="seconds"),
            "payer": {"openid": order["openid"]},
            "amount": {
                "total": order["amount_total_fen"],
                "payer_total": order["amount_total_fen"],
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        }

    def notification(self, resource: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        nonce = secrets.token_hex(6)
        plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
        ciphertext = self.aead.encrypt(nonce.encode(), plaintext, b"transaction")
        now = datetime.now(BEIJING)
        body = json.dumps(
            {
                "id": f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-"
                f"{secrets.token_hex(2)}-{secrets.token_hex(6)}",
                "create_time": now.isoformat(timespec="seconds"),
                "resource_type": "encrypt-resource",
                "event_type": "TRANSACTION.SUCCESS",
                "summary": "支付成功",
                "resource": {
                    "original_type": "transaction",
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(ciphertext).decode(),
                    "associated_data": "transaction",
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        timestamp = str(int(time.time()))
        header_nonce = secrets.token_hex(16)
        message = f"{timestamp}\n{header_nonce}\n".encode() + body + b"\n"
        signature = self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        headers = {
            "content-type": "application/json",
            "wechatpay-timestamp": timestamp,
            "wechatpay-nonce": header_nonce,
            "wechatpay-serial": self.serial,
            "wechatpay-signature-type": "WECHATPAY2-SHA256-RSA2048",
            "wechatpay-signature": base64.b64encode(signature).decode(),
            "user-agent": "Mozilla/4.0",
        }
        return headers, body


def build_stream(count: int, rng: random.Random) -> tuple[list[int], int, int]:
    """Indices of the messages to send: each original once, plus duplicates making up
    ``DUPLICATE_SHARE`` of the stream; half of the duplicates right behind their original
    (in flight at the same time), half later. Returns (stream, duplicates, concurrent)."""
    duplicates = round(count * DUPLICATE_SHARE / (1 - DUPLICATE_SHARE))
    keyed: list[tuple[float, int]] = [(float(i), i) for i in range(count)]
    concurrent = 0
    for n in range(duplicates):
        original = rng.randrange(count)
        if n % 2 == 0:
            keyed.append((original + 0.5, original))
            concurrent += 1
        else:
            keyed.append((rng.uniform(original + 1, count + 1), original))
    keyed.sort()
    return [index for _, index in keyed], duplicates, concurrent


async def make_orders(stack: Stack, count: int, clients_count: int) -> list[dict[str, Any]]:
    clients = await login_clients(stack, clients_count, prefix="notify")
    orders: list[dict[str, Any]] = []
    remaining = iter(range(count))

    async def work(index: int) -> None:
        client = clients[index]
        for _ in remaining:
            orders.append(await create_and_pay(client))

    try:
        await asyncio.gather(*(work(i) for i in range(len(clients))))
    finally:
        await close_clients(clients)
    return orders


async def post_stream(
    stack: Stack, messages: list[tuple[dict[str, str], bytes]], stream: list[int], senders: int
) -> dict[str, Any]:
    host, port = _host_port(stack.service_url)
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    position = iter(stream)
    connections = [Connection(host, port) for _ in range(senders)]

    async def sender(connection: Connection) -> None:
        for index in position:
            headers, body = messages[index]
            started = time.perf_counter()
            status, _ = await connection.request("POST", "/notify/v3/payments", body, headers)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    postgres = stack.database == "postgresql"
    before = cpu_snapshot(stack.pids, postgres=postgres)
    try:
        await asyncio.gather(*(sender(c) for c in connections))
    finally:
        after = cpu_snapshot(stack.pids, postgres=postgres)
        await asyncio.gather(*(c.close() for c in connections))
    elapsed = after.at - before.at
    cpu = cpu_between(before, after)
    return {
        "sent": len(stream),
        "elapsed_s": round(elapsed, 3),
        "notifications_per_s": round(len(stream) / elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "latency": latency_summary(latencies),
        "cpu_s": cpu,
        "cpu_ms_per_notification": {
            name: round(seconds / len(stream) * 1000, 3) for name, seconds in cpu.items()
        },
    }


async def exactly_once(
    database_url: str, orders: list[dict[str, Any]], duplicates: int
) -> dict[str, Any]:
    """What the database says: every order paid once, every duplicate recognised as one."""
    from mppay.store.db import create_engine

    ids = [order["id"] for order in orders]
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            paid = 0
            paid_events: dict[str, int] = {}
            paid_sql = text(
                "SELECT count(*) FROM orders WHERE status = 'PAID' AND id IN :ids"
            ).bindparams(bindparam("ids", expanding=True))
            events_sql = text(
                "SELECT order_id, count(*) FROM order_events WHERE type = 'order.paid' "
                "AND order_id IN :ids GROUP BY order_id"
            ).bindparams(bindparam("ids", expanding=True))
            for start in range(0, len(ids), 500):
                chunk = {"ids": ids[start : start + 500]}
                paid += (await connection.execute(paid_sql, chunk)).scalar_one()
                rows = await connection.execute(events_sql, chunk)
                paid_events.update({order_id: count for order_id, count in rows})
            outcomes = dict(
                (
                    await connection.execute(
                        text(
                            "SELECT outcome, count(*) FROM notifications "
                            "WHERE channel = 'payment' GROUP BY outcome"
                        )
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    checks = {
        "orders_paid": paid,
        "orders_with_one_paid_event": sum(1 for count in paid_events.values() if count == 1),
        "orders_with_several_paid_events": sum(1 for count in paid_events.values() if count > 1),
        "notification_outcomes": outcomes,
    }
    checks["ok"] = (
        paid == len(ids)
        and checks["orders_with_one_paid_event"] == len(ids)
        and checks["orders_with_several_paid_events"] == 0
        and outcomes.get("applied_paid", 0) == len(ids)
        and outcomes.get("duplicate", 0) == duplicates
        and sum(outcomes.values()) == len(ids) + duplicates
    )
    return checks


async def run(options: Options, databases: Databases) -> dict[str, Any]:
    size = sizes(options)
    console.rule("[bold]3. notifications")
    runs: dict[str, Any] = {}
    for kind in options.databases:
        url = await databases.new(kind, f"notify_{kind[:2]}")
        stack = Stack(options, kind, url, options.work_dir / f"notify-{kind}").start()
        try:
            began = time.perf_counter()
            orders = await make_orders(stack, size["orders"], size["clients"])
            console.print(
                f"{kind}: {len(orders)} orders created and prepaid through the API in "
                f"{time.perf_counter() - began:.1f} s"
            )
            forger = NotificationForger(stack)
            began = time.perf_counter()
            messages = [
                forger.notification(forger.transaction(order, number))
                for number, order in enumerate(orders)
            ]
            stream, duplicates, concurrent = build_stream(len(messages), random.Random(7))
            generated_s = time.perf_counter() - began
            data = await post_stream(stack, messages, stream, size["senders"])
            data.update(
                orders=len(orders),
                duplicates=duplicates,
                concurrent_duplicates=concurrent,
                senders=size["senders"],
                generation_s=round(generated_s, 2),
            )
            data["exactly_once"] = await exactly_once(url, orders, duplicates)
            data["problems"] = stack.check_logs()
        finally:
            stack.stop()
            await databases.drop(url)
        runs[kind] = data

    print_table(
        f"notifications: {size['senders']} concurrent senders, {DUPLICATE_SHARE:.0%} duplicates",
        [
            "database",
            "sent",
            "notifications/s",
            "p50 ms",
            "p99 ms",
            "statuses",
            "CPU ms/notif. service",
            "postgres",
            "exactly once",
        ],
        [
            (
                kind,
                data["sent"],
                data["notifications_per_s"],
                data["latency"]["p50_ms"],
                data["latency"]["p99_ms"],
                " ".join(f"{k}x{v}" for k, v in data["statuses"].items()),
                data["cpu_ms_per_notification"].get("service"),
                data["cpu_ms_per_notification"].get("postgres"),
                "yes" if data["exactly_once"]["ok"] else "NO",
            )
            for kind, data in runs.items()
        ],
    )
    result = {
        "sizes": size,
        "duplicate_share": DUPLICATE_SHARE,
        "runs": runs,
        "target": {"database": "postgresql", "notifications_per_s": 1500},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_result(options, NAME, result)
    return result
