"""Reconciliation against the emulator's real bill files, exposed on the operations API."""

from datetime import datetime

from mppay.domain.identifiers import BEIJING
from mppay.usecases.reconciliation import reconcile
from tests.support.shop import Shop


async def test_a_day_reconciles_clean_and_a_missed_payment_is_fixed(shop: Shop) -> None:
    user = await shop.login()
    matched = await shop.paid_order(user)
    await shop.faults(notify_drop_rate=1.0)
    missed = await shop.create_order(user, [{"product_id": "beans", "quantity": 1}])
    params = await shop.pay(user, missed["id"])
    assert await shop.request_payment(user, params) == "requestPayment:ok"
    assert shop.stack.emulator is not None
    today = datetime.now(BEIJING).date()
    # The day ends at WeChat (its bill exists now); every retry of the notification is lost too.
    shop.stack.emulator.advance_clock(25 * 3600)
    report = await reconcile(shop.stack.service.ctx, today)
    assert report.status == "DONE"
    assert report.unexplained == 0
    assert [(d.kind, d.resolution, d.out_trade_no) for d in report.discrepancies] == [
        ("STATUS_MISMATCH", "FIXED", missed["out_trade_no"])
    ]
    assert (await shop.order(user, missed["id"]))["status"] == "PAID"
    runs = (await shop.http.get(f"{shop.api}/admin/api/reconciliations", headers=shop.admin)).json()
    assert runs[0]["bill_date"] == today.isoformat()
    assert runs[0]["summary"]["matched"] == 1
    detail = (
        await shop.http.get(f"{shop.api}/admin/api/reconciliations/{today}", headers=shop.admin)
    ).json()
    assert detail["discrepancies"][0]["resolution"] == "FIXED"
    assert matched["status"] == "PAID"
    missing = await shop.http.get(
        f"{shop.api}/admin/api/reconciliations/2001-01-01", headers=shop.admin
    )
    assert missing.status_code == 404
