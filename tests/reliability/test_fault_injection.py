"""Fault injection: a few hundred orders through the full loop while the emulator drops,
duplicates (also concurrently), delays and reorders notifications, sends SIGNTEST probes and
fails a share of API calls (SYSTEM_ERROR, 500, 503, timeouts, some after the change took
effect), and the service is killed with SIGKILL mid-run and restarted.

Afterwards every order must match WeChat's (the emulator's) truth, nothing is paid or refunded
twice, every notification that reached the service is on record, and the day's reconciliation
has no unexplained discrepancy.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from mppay.domain.identifiers import BEIJING
from mppay.store.db import create_engine
from mppay.store.models import NotificationRow, OrderEventRow, OrderRow, RefundRow
from mppay.wechatpay import MerchantConfig, WeChatPayV2Client, WeChatPayV3Client
from mppay.wechatpay import errors as wx
from tests.support.databases import PostgresFactory
from tests.support.processes import (
    ADMIN_HEADERS,
    merchant_env,
    mppay_argv,
    service,
    start_emulator,
)

pytestmark = pytest.mark.slow

ORDERS = 150
CONCURRENCY = 16
FAULTS = {
    "seed": 20261129,
    "notify_drop_rate": 0.3,
    "notify_duplicate_rate": 0.3,
    "notify_concurrent_duplicates": True,
    "notify_delay_seconds": 0.3,
    "notify_reorder": True,
    "notify_signtest_rate": 0.1,
    "api_system_error_rate": 0.03,
    "api_http_500_rate": 0.02,
    "api_http_503_rate": 0.02,
    "api_timeout_rate": 0.03,
    "api_timeout_seconds": 3,
}


@dataclass
class Tally:
    created: int = 0
    confirmed: int = 0
    cancelled_in_cashier: int = 0
    closed_by_user: int = 0
    refunds: int = 0
    client_retries: int = 0
    orders: list[dict[str, Any]] = field(default_factory=list)


class Client:
    """A persistent Mini Program: retries what is safe to retry, like the real one does."""

    def __init__(self, http: httpx.AsyncClient, emulator: str, appid: str) -> None:
        self.http = http
        self.emulator = emulator
        self.appid = appid
        self.api = ""
        self.tally = Tally()
        self.half_created = asyncio.Event()

    async def call(
        self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201), **kwargs: Any
    ) -> httpx.Response:
        for _ in range(40):
            try:
                response = await self.http.request(method, f"{self.api}{path}", **kwargs)
            except httpx.TransportError:
                response = None  # the service is being restarted, or dropped the connection
            if response is not None and (response.status_code in ok or response.status_code < 500):
                return response
            self.tally.client_retries += 1
            await asyncio.sleep(0.25)
        raise AssertionError(f"{method} {path} kept failing")

    async def login(self) -> dict[str, str]:
        code = (
            await self.http.post(
                f"{self.emulator}/sandbox/login",
                json={"appid": self.appid, "openid": f"oFI{uuid.uuid4().hex[:24]}"},
            )
        ).json()
        response = await self.call("POST", "/api/login", json={"code": code["code"]})
        if response.status_code != 200:  # the code was consumed by a request whose answer was lost
            return await self.login()
        return {"Authorization": f"Bearer {response.json()['token']}", "openid": code["openid"]}


async def run_one(
    client: Client, user: dict[str, str], rng: random.Random, api_version: str
) -> None:
    headers = {"Authorization": user["Authorization"]}
    key = uuid.uuid4().hex
    order = (
        await client.call(
            "POST",
            "/api/orders",
            json={
                "items": [
                    {
                        "product_id": rng.choice(["latte", "croissant", "beans"]),
                        "quantity": rng.randint(1, 3),
                    }
                ]
            },
            headers={**headers, "Idempotency-Key": key},
        )
    ).json()
    client.tally.created += 1
    if client.tally.created >= ORDERS // 2:
        client.half_created.set()
    client.tally.orders.append(order)
    pay = await client.call("POST", f"/api/orders/{order['id']}/pay", headers=headers)
    if pay.status_code != 200:
        return
    roll = rng.random()
    if roll < 0.15:
        return  # the user never pays
    action = "cancel" if roll < 0.3 else "confirm"
    body = {
        **pay.json()["params"],
        "appId": client.appid,
        "openid": user["openid"],
        "action": action,
    }
    result = (
        await client.http.post(f"{client.emulator}/sandbox/requestPayment", json=body)
    ).json()["errMsg"]
    if action == "cancel":
        client.tally.cancelled_in_cashier += 1
        if api_version == "v3" and rng.random() < 0.5:
            closed = await client.call("POST", f"/api/orders/{order['id']}/cancel", headers=headers)
            client.tally.closed_by_user += closed.status_code == 200
        return
    assert result == "requestPayment:ok", result
    client.tally.confirmed += 1
    if rng.random() < 0.3:
        paid = await wait_paid(client, order["id"], headers)
        if paid:
            amount = rng.choice([order["amount_total_fen"], max(1, order["amount_total_fen"] // 3)])
            refund = await client.call(
                "POST",
                f"/admin/api/orders/{order['id']}/refunds",
                json={"amount_fen": amount, "reason": "fault suite"},
                headers=ADMIN_HEADERS,
                ok=(201,),
            )
            client.tally.refunds += refund.status_code == 201


async def wait_paid(client: Client, order_id: str, headers: dict[str, str]) -> bool:
    for _ in range(20):
        response = await client.call(
            "GET", f"/api/orders/{order_id}", params={"refresh": "true"}, headers=headers
        )
        if response.json()["status"] == "PAID":
            return True
        await asyncio.sleep(0.2)
    return False


def library_client(
    merchant: dict[str, Any], emulator_url: str, api_version: str
) -> WeChatPayV3Client | WeChatPayV2Client:
    config = MerchantConfig.from_pem(
        mchid=merchant["mchid"],
        appid=merchant["appid"],
        merchant_serial_no=merchant["merchant_serial_no"],
        merchant_private_key_pem=merchant["merchant_private_key_pem"],
        api_v3_key=merchant["api_v3_key"],
        api_v2_key=merchant["api_v2_key"],
        base_url=emulator_url,
        wechatpay_public_key_pem=merchant["wechatpay_public_key_pem"],
        wechatpay_public_key_id=merchant["wechatpay_public_key_id"],
    )
    return WeChatPayV3Client(config) if api_version == "v3" else WeChatPayV2Client(config)


async def wechat_truth(
    client: WeChatPayV3Client | WeChatPayV2Client, out_trade_no: str
) -> tuple[str, str | None]:
    try:
        if isinstance(client, WeChatPayV3Client):
            transaction = await client.query_order_by_out_trade_no(out_trade_no)
            return transaction.trade_state, transaction.transaction_id
        order = await client.order_query(out_trade_no=out_trade_no)
        return order.trade_state, order.transaction_id
    except wx.OrderNotFoundError:
        return "UNKNOWN", None


@pytest.mark.parametrize(
    ("api_version", "backend"),
    [("v3", "sqlite"), pytest.param("v2", "postgres", marks=pytest.mark.postgres)],
)
async def test_the_service_converges_to_wechats_truth_under_faults_and_a_crash(
    api_version: str, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'faults.sqlite3'}"
    else:
        factory: PostgresFactory = request.getfixturevalue("postgres")
        database_url = await factory.new_database()
    emulator, emulator_url = start_emulator(tmp_path)
    processes = [emulator]
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            merchant = (
                await http.post(
                    f"{emulator_url}/sandbox/merchants", json={"key_mode": "public_key"}
                )
            ).json()
            env = merchant_env(
                merchant,
                emulator_url=emulator_url,
                database_url=database_url,
                api_version=api_version,
            )
            svc, service_url = service(env, tmp_path, name="service", worker=True)
            processes.append(svc.start())
            assert (
                await http.put(f"{emulator_url}/sandbox/faults", json=FAULTS)
            ).status_code == 200
            client = Client(http, emulator_url, merchant["appid"])
            client.api = service_url
            users = [await client.login() for _ in range(8)]
            rng = random.Random(7)
            semaphore = asyncio.Semaphore(CONCURRENCY)

            async def guarded(index: int) -> None:
                async with semaphore:
                    await run_one(
                        client, users[index % len(users)], random.Random(rng.random()), api_version
                    )

            tasks = [asyncio.create_task(guarded(i)) for i in range(ORDERS)]
            await client.half_created.wait()
            svc.kill_hard()  # mid-run crash: in-flight requests and jobs are lost
            svc.start()
            await asyncio.gather(*tasks)

            # Let things settle: API faults stop (WeChat is healthy again), notification faults stay,
            # and a day passes at WeChat so every retry of the schedule (24h4m) is attempted.
            faults = {k: v for k, v in FAULTS.items() if not k.startswith("api_")}
            assert (
                await http.put(f"{emulator_url}/sandbox/faults", json=faults)
            ).status_code == 200
            truth = library_client(merchant, emulator_url, api_version)
            mismatched = await converge(
                http, truth, client.tally.orders, database_url, emulator_url
            )
            assert mismatched == [], (
                f"orders not matching WeChat after convergence: {mismatched[:5]}"
            )
            figures = await check_exactly_once(database_url, http, emulator_url)
            bill_date = datetime.now(BEIJING).date()
            reconcile = await asyncio.to_thread(
                subprocess.run,
                mppay_argv("reconcile", "--date", bill_date.isoformat()),
                env={**env, "MPPAY_NOTIFY_BASE_URL": service_url},
                capture_output=True,
                text=True,
                timeout=120,
            )
            print(reconcile.stdout)
            assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
            print(
                f"\nfault suite {api_version}/{backend}: {client.tally.created} orders, {client.tally.confirmed} paid in the "
                f"cashier, {client.tally.cancelled_in_cashier} cancelled there, {client.tally.refunds} refunds, "
                f"{client.tally.client_retries} client retries; {figures}"
            )
            await truth.aclose()
    finally:
        for process in reversed(processes):
            process.stop()


async def converge(
    http: httpx.AsyncClient,
    truth: WeChatPayV3Client | WeChatPayV2Client,
    orders: list[dict[str, Any]],
    database_url: str,
    emulator_url: str,
) -> list[str]:
    """Advance WeChat's clock through the retry schedule and wait for local state to match."""
    await http.post(f"{emulator_url}/sandbox/clock", json={"advance_seconds": 24 * 3600 + 300})
    mismatched: list[str] = []
    for _ in range(90):
        await asyncio.sleep(1)
        local = await local_orders(database_url)
        mismatched = []
        for order in orders:
            state, transaction_id = await wechat_truth(truth, order["out_trade_no"])
            row = local[order["out_trade_no"]]
            paid_there = state in ("SUCCESS", "REFUND")
            paid_here = row["status"] in ("PAID", "PARTIALLY_REFUNDED", "REFUNDED")
            if paid_there != paid_here or (paid_here and row["transaction_id"] != transaction_id):
                mismatched.append(f"{order['out_trade_no']}: wechat {state} here {row['status']}")
            elif state == "CLOSED" and row["status"] != "CLOSED":
                mismatched.append(f"{order['out_trade_no']}: wechat CLOSED here {row['status']}")
            elif row["processing_refunds"]:
                mismatched.append(f"{order['out_trade_no']}: refund still processing")
        if not mismatched:
            break
    return mismatched


async def local_orders(database_url: str) -> dict[str, dict[str, Any]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(
                        OrderRow.id, OrderRow.out_trade_no, OrderRow.status, OrderRow.transaction_id
                    )
                )
            ).all()
            processing = {
                order_id
                for (order_id,) in (
                    await connection.execute(
                        select(RefundRow.order_id).where(RefundRow.status == "PROCESSING")
                    )
                ).all()
            }
        return {
            no: {"status": status, "transaction_id": tid, "processing_refunds": oid in processing}
            for oid, no, status, tid in rows
        }
    finally:
        await engine.dispose()


async def check_exactly_once(database_url: str, http: httpx.AsyncClient, emulator_url: str) -> str:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            paid_twice = (
                await connection.execute(
                    select(OrderEventRow.order_id)
                    .where(OrderEventRow.type == "order.paid")
                    .group_by(OrderEventRow.order_id)
                    .having(func.count() > 1)
                )
            ).all()
            assert paid_twice == [], f"paid twice: {paid_twice}"
            over_refunded = (
                await connection.execute(
                    select(OrderRow.id).where(
                        (OrderRow.refunded_fen > OrderRow.amount_total_fen)
                        | (OrderRow.refund_reserved_fen > OrderRow.amount_total_fen)
                    )
                )
            ).all()
            assert over_refunded == []
            for order_id, refunded in (
                await connection.execute(select(OrderRow.id, OrderRow.refunded_fen))
            ).all():
                succeeded = (
                    await connection.execute(
                        select(func.coalesce(func.sum(RefundRow.amount_fen), 0)).where(
                            RefundRow.order_id == order_id, RefundRow.status == "SUCCESS"
                        )
                    )
                ).scalar_one()
                assert refunded == succeeded, (
                    f"order {order_id}: refunded_fen {refunded} != successful refunds {succeeded}"
                )
            stored = (
                await connection.execute(select(func.count()).select_from(NotificationRow))
            ).scalar_one()
            by_outcome = dict(
                (
                    await connection.execute(
                        select(NotificationRow.outcome, func.count()).group_by(
                            NotificationRow.outcome
                        )
                    )
                ).all()
            )
            recovered = (
                await connection.execute(
                    select(func.count())
                    .select_from(OrderEventRow)
                    .where(
                        OrderEventRow.type == "order.paid",
                        OrderEventRow.source.in_(
                            ["sync_job", "user_refresh", "reconciliation", "prepay_refused"]
                        ),
                    )
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    deliveries = (await http.get(f"{emulator_url}/sandbox/notifications")).json()["data"]
    answered = [d for d in deliveries if d.get("status_code") is not None]
    dropped = sum(1 for d in deliveries if d.get("outcome") == "dropped")
    probes = sum(1 for d in deliveries if d.get("kind") == "signtest")
    # Every notification the service answered is on record (a delivery cut by the crash may be
    # recorded without an answer having left, so stored >= answered).
    assert stored >= len(answered), f"{stored} notifications stored, {len(answered)} answered"
    assert all(d["status_code"] >= 400 for d in answered if d.get("kind") == "signtest"), (
        "a SIGNTEST probe was accepted"
    )
    return (
        f"{len(deliveries)} delivery attempts ({dropped} dropped, {probes} SIGNTEST probes), {stored} stored, "
        f"{by_outcome.get('duplicate', 0)} duplicates absorbed, {by_outcome.get('rejected', 0)} rejected, "
        f"{recovered} payments recovered by query"
    )
