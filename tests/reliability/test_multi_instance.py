"""Two services of two processes each (`mppay serve --workers 2`) and two worker processes on
one PostgreSQL database, hammered with concurrent duplicate notifications and concurrent
refunds for the same orders: every effect happens exactly once, nothing deadlocks, and nobody
answers 5xx."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from mppay.store.db import create_engine
from mppay.store.models import JobRow, NotificationRow, OrderEventRow, OrderRow, RefundRow
from tests.support.databases import PostgresFactory
from tests.support.processes import (
    ADMIN_HEADERS,
    Process,
    merchant_env,
    service,
    start_emulator,
    worker,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ORDERS = 12
PENDING = 24
ADMIN = ADMIN_HEADERS


async def paid_order(
    http: httpx.AsyncClient, api: str, emulator: str, appid: str
) -> dict[str, Any]:
    code = (
        await http.post(
            f"{emulator}/sandbox/login",
            json={"appid": appid, "openid": f"oMI{uuid.uuid4().hex[:24]}"},
        )
    ).json()
    token = (await http.post(f"{api}/api/login", json={"code": code["code"]})).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    order = (
        await http.post(
            f"{api}/api/orders",
            json={"items": [{"product_id": "beans", "quantity": 1}]},
            headers=auth,
        )
    ).json()
    params = (await http.post(f"{api}/api/orders/{order['id']}/pay", headers=auth)).json()["params"]
    result = (
        await http.post(
            f"{emulator}/sandbox/requestPayment",
            json={**params, "appId": appid, "openid": code["openid"], "action": "confirm"},
        )
    ).json()
    assert result["errMsg"] == "requestPayment:ok"
    return dict(order)


async def test_two_services_and_two_workers_apply_everything_exactly_once(
    tmp_path: Path, postgres: PostgresFactory
) -> None:
    database_url = await postgres.new_database()
    emulator, emulator_url = start_emulator(tmp_path)
    processes: list[Process] = [emulator]
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            merchant = (await http.post(f"{emulator_url}/sandbox/merchants", json={})).json()
            env = merchant_env(
                merchant, emulator_url=emulator_url, database_url=database_url, api_version="v3"
            )
            # Two hosts' worth: each `mppay serve --workers 2`, four service processes in all.
            service_a, url_a = service(env, tmp_path, name="service-a", worker=False, workers=2)
            service_b, url_b = service(env, tmp_path, name="service-b", worker=False, workers=2)
            processes += [service_a.start(), service_b.start()]
            worker_env = {**env, "MPPAY_NOTIFY_BASE_URL": url_a}
            processes += [
                worker(worker_env, tmp_path, name="worker-1").start(),
                worker(worker_env, tmp_path, name="worker-2").start(),
            ]
            urls = [url_a, url_b]

            orders = await asyncio.gather(
                *(
                    paid_order(http, urls[i % 2], emulator_url, merchant["appid"])
                    for i in range(ORDERS)
                )
            )

            # The same notification, correctly signed, many times at once, to both services.
            async def send(order: dict[str, Any], target: str) -> int:
                response = await http.post(
                    f"{emulator_url}/sandbox/notifications/send",
                    json={
                        "mchid": merchant["mchid"],
                        "out_trade_no": order["out_trade_no"],
                        "event_type": "TRANSACTION.SUCCESS",
                        "url": f"{target}/notify/v3/payments",
                    },
                )
                assert response.status_code == 200, response.text
                return int(response.json()["status_code"])

            statuses = await asyncio.gather(
                *(send(order, urls[j % 2]) for order in orders for j in range(8))
            )
            assert set(statuses) <= {200, 204}, statuses

            # Concurrent refunds through both services: a third of the order each, six at once.
            async def refund(order: dict[str, Any], target: str) -> int:
                response = await http.post(
                    f"{target}/admin/api/orders/{order['id']}/refunds",
                    json={"amount_fen": order["amount_total_fen"] // 3},
                    headers=ADMIN,
                )
                assert response.status_code < 500, response.text
                return response.status_code

            refund_statuses = await asyncio.gather(
                *(refund(order, urls[j % 2]) for order in orders for j in range(6))
            )
            assert sorted(refund_statuses).count(201) == 3 * ORDERS
            assert sorted(refund_statuses).count(409) == 3 * ORDERS

            await wait_for_refunds(database_url, expected=3 * ORDERS)
            await check(database_url, orders)

            # Unpaid orders: their sync jobs made due at once are shared by both workers; each
            # job runs once (one query per order), none twice at the same time.
            pending = await asyncio.gather(
                *(
                    unpaid_order(http, urls[i % 2], emulator_url, merchant["appid"])
                    for i in range(PENDING)
                )
            )
            await make_sync_jobs_due(database_url)
            await check_each_sync_ran_once(database_url, [order["id"] for order in pending])
        for process in processes[1:]:
            log = process.log.read_text(errors="replace")
            assert "deadlock" not in log.lower(), f"{process.name}: {log[-2000:]}"
            assert "Traceback" not in log, f"{process.name}: {log[-3000:]}"
    finally:
        for process in reversed(processes):
            process.stop()


async def unpaid_order(
    http: httpx.AsyncClient, api: str, emulator: str, appid: str
) -> dict[str, Any]:
    code = (
        await http.post(
            f"{emulator}/sandbox/login",
            json={"appid": appid, "openid": f"oMI{uuid.uuid4().hex[:24]}"},
        )
    ).json()
    token = (await http.post(f"{api}/api/login", json={"code": code["code"]})).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    order = (
        await http.post(
            f"{api}/api/orders", json={"items": [{"product_id": "latte"}]}, headers=auth
        )
    ).json()
    assert (await http.post(f"{api}/api/orders/{order['id']}/pay", headers=auth)).status_code == 200
    return dict(order)


async def make_sync_jobs_due(database_url: str) -> None:
    """Time travel for the job table only: every order sync is due now."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(JobRow).where(JobRow.kind == "order.sync").values(run_at=func.now())
            )
    finally:
        await engine.dispose()


async def check_each_sync_ran_once(database_url: str, order_ids: list[str]) -> None:
    engine = create_engine(database_url)
    try:
        queried: dict[str, int] = {}
        for _ in range(120):
            async with engine.connect() as connection:
                queried = dict(
                    (
                        await connection.execute(
                            select(OrderEventRow.order_id, func.count())
                            .where(
                                OrderEventRow.order_id.in_(order_ids),
                                OrderEventRow.type == "wechat.queried",
                                OrderEventRow.source == "sync_job",
                            )
                            .group_by(OrderEventRow.order_id)
                        )
                    ).all()
                )
            if len(queried) == len(order_ids):
                break
            await asyncio.sleep(0.25)
        assert sorted(queried) == sorted(order_ids), (
            f"{len(queried)} of {len(order_ids)} orders synced"
        )
        assert set(queried.values()) == {1}, queried
    finally:
        await engine.dispose()


async def wait_for_refunds(database_url: str, *, expected: int) -> None:
    engine = create_engine(database_url)
    try:
        for _ in range(120):
            async with engine.connect() as connection:
                done = (
                    await connection.execute(
                        select(func.count())
                        .select_from(RefundRow)
                        .where(RefundRow.status == "SUCCESS")
                    )
                ).scalar_one()
            if done == expected:
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"{done} of {expected} refunds succeeded")
    finally:
        await engine.dispose()


async def check(database_url: str, orders: list[dict[str, Any]]) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            for order in orders:
                row = (
                    await connection.execute(select(OrderRow).where(OrderRow.id == order["id"]))
                ).one()
                assert row.status == "PARTIALLY_REFUNDED"
                assert row.refunded_fen == 3 * (order["amount_total_fen"] // 3)
                events = dict(
                    (
                        await connection.execute(
                            select(OrderEventRow.type, func.count())
                            .where(OrderEventRow.order_id == order["id"])
                            .group_by(OrderEventRow.type)
                        )
                    ).all()
                )
                assert events["order.paid"] == 1
                assert events["refund.succeeded"] == 3
            applied = (
                await connection.execute(
                    select(func.count())
                    .select_from(NotificationRow)
                    .where(
                        NotificationRow.channel == "payment",
                        NotificationRow.outcome == "applied_paid",
                    )
                )
            ).scalar_one()
            assert applied == len(orders)
            stuck = (
                await connection.execute(
                    select(func.count())
                    .select_from(JobRow)
                    .where(JobRow.status.in_(["RUNNING", "FAILED"]))
                )
            ).scalar_one()
            assert stuck == 0
    finally:
        await engine.dispose()
