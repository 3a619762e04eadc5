"""Named scenarios (``POST /sandbox/scenarios/{name}``) through the real sandbox stack: each one
leaves the service in the state the README's scenario table documents."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from mppay.cli import app
from mppay.domain.identifiers import BEIJING
from mppay.usecases.reconciliation import reconcile
from tests.support.shop import Shop, User


async def _pending(shop: Shop) -> tuple[User, dict[str, Any]]:
    user = await shop.login()
    order = await shop.create_order(user)
    await shop.pay(user, order["id"])
    return user, order


async def _trigger(shop: Shop, name: str, **subject: str) -> dict[str, Any]:
    response = await shop.http.post(
        f"{shop.emu}/sandbox/scenarios/{name}", json={"mchid": shop.mchid, **subject}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _types(dossier: dict[str, Any]) -> list[str]:
    return [entry["type"] for entry in dossier["timeline"]]


async def test_a_success_notification_overriding_only_the_amount_is_an_amount_mismatch(
    shop: Shop,
) -> None:
    _user, order = await _pending(shop)
    response = await shop.http.post(
        f"{shop.emu}/sandbox/notifications/send",
        json={
            "mchid": shop.mchid,
            "out_trade_no": order["out_trade_no"],
            "event_type": "TRANSACTION.SUCCESS",
            "resource_overrides": {"amount": {"total": 1}},
        },
    )
    assert response.status_code == 200, response.text
    dossier = await shop.dossier(order["id"])
    assert dossier["order"]["status"] == "PENDING"
    assert dossier["order"]["needs_review"] is True
    assert "amount_total" in dossier["order"]["review_reason"]
    assert "review.mismatch" in _types(dossier)


async def test_payment_succeeded_pays_the_order_through_its_notification(shop: Shop) -> None:
    user, order = await _pending(shop)
    report = await _trigger(shop, "payment-succeeded", out_trade_no=order["out_trade_no"])
    assert report["delivered"] >= 1
    paid = await shop.wait_for(user, order["id"], "PAID")
    assert paid["transaction_id"].startswith("42")
    dossier = await shop.dossier(order["id"])
    assert [n["outcome"] for n in dossier["notifications"]] == ["applied_paid"]


async def test_notification_dropped_leaves_the_order_pending_until_the_service_queries(
    shop: Shop,
) -> None:
    user, order = await _pending(shop)
    report = await _trigger(shop, "notification-dropped", out_trade_no=order["out_trade_no"])
    assert report["dropped"] == 1
    assert (await shop.order(user, order["id"]))["status"] == "PENDING"
    assert (await shop.dossier(order["id"]))["notifications"] == []
    recovered = await shop.order(user, order["id"], refresh=True)
    assert recovered["status"] == "PAID"
    outcomes = [d["outcome"] for d in await shop.deliveries()]
    assert outcomes == ["dropped"]


async def test_duplicate_storm_pays_exactly_once(shop: Shop) -> None:
    user, order = await _pending(shop)
    report = await _trigger(shop, "duplicate-storm", out_trade_no=order["out_trade_no"])
    assert report["sent"] == report["acknowledged"] == 5
    await shop.wait_for(user, order["id"], "PAID")
    dossier = await shop.dossier(order["id"])
    assert _types(dossier).count("order.paid") == 1
    outcomes = sorted(n["outcome"] for n in dossier["notifications"])
    assert outcomes == ["applied_paid"] + ["duplicate"] * 4


@pytest.mark.parametrize("api_version", ["v3", "v2"])
async def test_amount_mismatch_flags_the_order_for_review_and_does_not_pay_it(
    shop: Shop,
) -> None:
    user, order = await _pending(shop)
    report = await _trigger(shop, "amount-mismatch", out_trade_no=order["out_trade_no"])
    assert report["paid"] is False
    dossier = await shop.dossier(order["id"])
    assert dossier["order"]["status"] == "PENDING"
    assert dossier["order"]["needs_review"] is True
    assert "amount_total" in dossier["order"]["review_reason"]
    assert "review.mismatch" in _types(dossier)
    assert (await shop.order(user, order["id"]))["status"] == "PENDING"


async def test_signtest_probe_is_rejected_and_the_real_notification_pays(shop: Shop) -> None:
    user, order = await _pending(shop)
    report = await _trigger(shop, "signtest-probe", out_trade_no=order["out_trade_no"])
    assert report["probed"] == 1
    await shop.wait_for(user, order["id"], "PAID")
    kinds = [(d["kind"], d["outcome"]) for d in await shop.deliveries()]
    assert kinds == [("signtest", "probe_rejected"), ("delivery", "success")]
    dossier = await shop.dossier(order["id"])
    assert [n["outcome"] for n in dossier["notifications"] if n["verified"]] == ["applied_paid"]


async def test_payment_after_close_pays_the_closed_order_and_flags_it(shop: Shop) -> None:
    user, order = await _pending(shop)
    cancelled = await shop.http.post(
        f"{shop.api}/api/orders/{order['id']}/cancel", headers=user.headers
    )
    assert cancelled.json()["status"] == "CLOSED", cancelled.text
    await _trigger(shop, "payment-after-close", out_trade_no=order["out_trade_no"])
    dossier = await shop.dossier(order["id"])
    assert dossier["order"]["status"] == "PAID"
    assert dossier["order"]["needs_review"] is True
    assert "order.paid_after_close" in _types(dossier)
    again = await shop.http.post(
        f"{shop.emu}/sandbox/scenarios/payment-after-close",
        json={"mchid": shop.mchid, "out_trade_no": order["out_trade_no"]},
    )
    assert again.status_code == 409


async def test_late_payment_after_expiry_is_refused_in_time_then_pays_the_expired_order(
    shop: Shop,
) -> None:
    user, order = await _pending(shop)
    early = await shop.http.post(
        f"{shop.emu}/sandbox/scenarios/late-payment-after-expiry",
        json={"mchid": shop.mchid, "out_trade_no": order["out_trade_no"]},
    )
    assert early.status_code == 409
    assert "mppay clock advance" in early.json()["message"]
    assert shop.stack.emulator is not None
    shop.stack.emulator.advance_clock(31 * 60)
    report = await _trigger(shop, "late-payment-after-expiry", out_trade_no=order["out_trade_no"])
    assert report["late_by_seconds"] >= 0
    paid = await shop.wait_for(user, order["id"], "PAID")
    assert paid["transaction_id"].startswith("42")
    dossier = await shop.dossier(order["id"])
    assert [n["outcome"] for n in dossier["notifications"]] == ["applied_paid"]


async def test_out_of_order_a_stale_payment_notification_does_not_undo_a_refund(
    shop: Shop,
) -> None:
    user = await shop.login()
    order = await shop.paid_order(user)
    assert (await shop.refund(order["id"], order["amount_total_fen"])).status_code == 201
    await shop.wait_for(user, order["id"], "REFUNDED")
    report = await _trigger(shop, "out-of-order", out_trade_no=order["out_trade_no"])
    assert report["acknowledged"] == 1
    dossier = await shop.dossier(order["id"])
    assert dossier["order"]["status"] == "REFUNDED"
    assert _types(dossier).count("order.paid") == 1
    assert dossier["notifications"][-1]["outcome"] == "duplicate"


@pytest.mark.parametrize("api_version", ["v3", "v2"])
async def test_refund_notenough_refuses_the_next_refund_and_releases_its_amount(
    shop: Shop,
) -> None:
    user = await shop.login()
    order = await shop.paid_order(user)
    assert (await _trigger(shop, "refund-notenough", out_trade_no=order["out_trade_no"]))["armed"]
    refused = await shop.refund(order["id"], order["amount_total_fen"])
    assert refused.status_code == 502, refused.text
    assert refused.json()["code"] == "REFUND_REJECTED"
    assert "NOTENOUGH" in refused.json()["message"].replace("_", "")  # v3 NOT_ENOUGH, v2 NOTENOUGH
    dossier = await shop.dossier(order["id"])
    assert dossier["order"]["status"] == "PAID"
    assert [r["status"] for r in dossier["refunds"]] == ["CLOSED"]
    assert "refund.rejected" in _types(dossier)
    # Armed for one refund only: the next one is accepted for the whole amount again.
    assert (await shop.refund(order["id"], order["amount_total_fen"])).status_code == 201
    await shop.wait_for(user, order["id"], "REFUNDED")


async def test_bill_mismatch_is_flagged_by_reconciliation_as_an_amount_mismatch(
    shop: Shop,
) -> None:
    user = await shop.login()
    order = await shop.paid_order(user)
    report = await _trigger(shop, "bill-mismatch", out_trade_no=order["out_trade_no"])
    assert report["bill_total"] == order["amount_total_fen"] + 1
    assert shop.stack.emulator is not None
    today = datetime.now(BEIJING).date()
    shop.stack.emulator.advance_clock(25 * 3600)  # the day ends at WeChat: its bill exists
    run = await reconcile(shop.stack.service.ctx, today)
    assert [(d.kind, d.out_trade_no) for d in run.discrepancies] == [
        ("AMOUNT_MISMATCH", order["out_trade_no"])
    ]
    assert (await shop.order(user, order["id"]))["status"] == "PAID"


@pytest.mark.parametrize(
    ("scenario", "refund_status", "order_status"),
    [
        ("refund-succeeded", "SUCCESS", "REFUNDED"),
        ("refund-closed", "CLOSED", "PAID"),
        ("refund-abnormal", "ABNORMAL", "PAID"),
    ],
)
async def test_refund_scenarios_finish_a_pending_refund_as_named(
    shop: Shop, scenario: str, refund_status: str, order_status: str
) -> None:
    assert shop.stack.emulator is not None
    # Keep the refund PROCESSING until the scenario finishes it.
    shop.stack.emulator.payments.refund_delay_seconds = 3600
    user = await shop.login()
    order = await shop.paid_order(user)
    created = await shop.refund(order["id"], order["amount_total_fen"])
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "PROCESSING"
    report = await _trigger(shop, scenario, out_refund_no=created.json()["out_refund_no"])
    assert report["refund_status"] == refund_status
    await shop.wait_for(user, order["id"], order_status)
    # The scenario answers after the refund notification was delivered and acknowledged.
    [refund] = (await shop.dossier(order["id"]))["refunds"]
    assert refund["status"] == refund_status
    if scenario == "refund-closed":
        # The money stayed with the merchant: the whole amount can be refunded again.
        again = await shop.refund(order["id"], order["amount_total_fen"])
        assert again.status_code == 201, again.text


async def test_an_unknown_scenario_or_subject_gets_a_specific_error(shop: Shop) -> None:
    listed = (await shop.http.get(f"{shop.emu}/sandbox/scenarios")).json()["data"]
    assert "duplicate-storm" in [s["name"] for s in listed]
    unknown = await shop.http.post(
        f"{shop.emu}/sandbox/scenarios/nope", json={"mchid": shop.mchid, "out_trade_no": "X"}
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "NOT_FOUND"
    missing = await shop.http.post(
        f"{shop.emu}/sandbox/scenarios/payment-succeeded", json={"mchid": shop.mchid}
    )
    assert missing.status_code == 400
    no_order = await shop.http.post(
        f"{shop.emu}/sandbox/scenarios/payment-succeeded",
        json={"mchid": shop.mchid, "out_trade_no": "MPNOSUCHORDER0001"},
    )
    assert no_order.status_code == 404


async def _cli(shop: Shop, *args: str) -> tuple[int, str]:
    urls = ["--emulator-url", shop.emu, "--service-url", shop.api]
    token = ["--admin-token", str(shop.settings.admin_token)]
    result = await asyncio.to_thread(CliRunner().invoke, app, ["trigger", *args, *urls, *token])
    return result.exit_code, result.output


async def test_mppay_trigger_lists_scenarios_and_takes_the_services_order_id(shop: Shop) -> None:
    listed = CliRunner().invoke(app, ["trigger", "--list"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert len(lines) == len((await shop.http.get(f"{shop.emu}/sandbox/scenarios")).json()["data"])
    assert any(line.startswith("duplicate-storm ") for line in lines)
    assert shop.stack.emulator is not None
    shop.stack.emulator.payments.refund_delay_seconds = 3600
    user, order = await _pending(shop)
    code, output = await _cli(shop, "payment-succeeded", "--order", order["id"])
    assert code == 0, output
    assert json.loads(output)["out_trade_no"] == order["out_trade_no"]
    await shop.wait_for(user, order["id"], "PAID")
    assert (await shop.refund(order["id"], order["amount_total_fen"])).status_code == 201
    code, output = await _cli(shop, "refund-closed", "--order", order["id"])
    assert code == 0, output
    [refund] = (await shop.dossier(order["id"]))["refunds"]
    assert refund["status"] == "CLOSED"
    code, output = await _cli(shop, "refund-closed", "--order", order["id"])
    assert code == 1
    assert "refund-closed" in output
