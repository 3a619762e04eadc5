"""The operations console through real HTTP on the sandbox stack (SQLite and PostgreSQL):
sign-in, CSRF, roles and support's refund limit, the audit log, the streamed CSV export."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from mppay.domain.identifiers import BEIJING
from mppay.store.models import JobRow, OperatorAuditRow, OperatorSessionRow, OrderRow
from mppay.usecases.operators import SANDBOX_OPERATOR, SANDBOX_OPERATOR_PASSWORD
from mppay.web.console.core import ConsoleState
from tests.support.shop import Shop

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


class Console:
    """A browser-like client of /console/: cookies kept, forms posted with their CSRF token."""

    def __init__(self, shop: Shop, http: httpx.AsyncClient) -> None:
        self.base = shop.api
        self.http = http

    async def sign_in(self, username: str, password: str) -> httpx.Response:
        form = await self.http.get(f"{self.base}/console/sign-in")
        token = _CSRF.search(form.text)
        assert token is not None, form.text
        return await self.http.post(
            f"{self.base}/console/sign-in",
            data={"csrf_token": token.group(1), "username": username, "password": password},
        )

    async def csrf(self, path: str = "/console/") -> str:
        page = await self.http.get(f"{self.base}{path}")
        assert page.status_code == 200, page.text
        found = _CSRF.search(page.text)
        assert found is not None
        return found.group(1)

    async def post(self, path: str, **fields: str) -> httpx.Response:
        return await self.http.post(f"{self.base}{path}", data=fields)

    async def refund(self, order_id: str, amount: str) -> httpx.Response:
        """Both steps: the confirmation page, then the refund with the key it issued."""
        token = await self.csrf(f"/console/orders/{order_id}")
        confirm = await self.post(
            f"/console/orders/{order_id}/refund/confirm",
            csrf_token=token,
            amount=amount,
            reason="cold",
        )
        if confirm.status_code != 200:
            return confirm
        key = _KEY.search(confirm.text)
        assert key is not None, confirm.text
        return await self.post(
            f"/console/orders/{order_id}/refund",
            csrf_token=token,
            amount=amount,
            reason="cold",
            idempotency_key=key.group(1),
        )


def _state(shop: Shop) -> ConsoleState:
    state: ConsoleState = shop.stack.service.app.state.console
    return state


Opener = Callable[[str, str], Awaitable[Console]]


@pytest.fixture
async def signed_in(shop: Shop) -> AsyncIterator[Opener]:
    """Opens a signed-in console client (closed at the end of the test)."""
    async with contextlib.AsyncExitStack() as clients:

        async def open_console(username: str, password: str) -> Console:
            http = await clients.enter_async_context(httpx.AsyncClient(timeout=10))
            console = Console(shop, http)
            answer = await console.sign_in(username, password)
            assert answer.status_code == 303, answer.text
            return console

        yield open_console


async def _operator(shop: Shop, signed_in: Opener, role: str) -> Console:
    name = f"{role}-1"
    await _state(shop).operators.add(name, "correct horse battery", role)
    return await signed_in(name, "correct horse battery")


async def _audit(shop: Shop, action: str) -> list[OperatorAuditRow]:
    async with shop.stack.service.ctx.uow(read_only=True) as uow:
        rows = await uow.session.scalars(
            select(OperatorAuditRow)
            .where(OperatorAuditRow.action == action)
            .order_by(OperatorAuditRow.id)
        )
        return list(rows)


async def test_pages_need_a_sign_in_and_the_sandbox_operator_gets_in(shop: Shop) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        anonymous = await http.get(f"{shop.api}/console/orders")
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/console/sign-in?next=/console/orders")
        console = Console(shop, http)
        wrong = await console.sign_in(SANDBOX_OPERATOR, "not the password")
        assert wrong.status_code == 401
        signed = await console.sign_in(SANDBOX_OPERATOR, SANDBOX_OPERATOR_PASSWORD)
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "secure" not in cookie  # plain http on loopback: a Secure cookie would never return
        for page in ("", "orders", "refunds", "reconciliation", "notifications", "jobs", "audit"):
            answer = await http.get(f"{shop.api}/console/{page}")
            assert answer.status_code == 200, (page, answer.text)
    refused = await _audit(shop, "sign_in")
    assert [(row.username, row.outcome) for row in refused] == [
        ("sandbox", "refused"),
        ("sandbox", "ok"),
    ]
    assert refused[0].client_ip == "127.0.0.1"


async def test_a_form_without_the_sessions_csrf_token_is_refused(
    shop: Shop, signed_in: Opener
) -> None:
    user = await shop.login()
    order = await shop.paid_order(user)
    console = await signed_in(SANDBOX_OPERATOR, SANDBOX_OPERATOR_PASSWORD)
    for token in ("", "forged-token"):
        answer = await console.post(
            f"/console/orders/{order['id']}/refund",
            csrf_token=token,
            amount="1.00",
            idempotency_key="k1",
        )
        assert answer.status_code == 403
    # the sign-in form too: its token must match the cookie it came with
    fresh = httpx.AsyncClient(timeout=10)
    async with fresh:
        answer = await fresh.post(
            f"{shop.api}/console/sign-in",
            data={"csrf_token": "x", "username": "sandbox", "password": "sandbox-operator"},
        )
        assert answer.status_code == 403
        assert "mppay_console=" not in answer.headers.get("set-cookie", "")
    assert (await shop.dossier(order["id"]))["refunds"] == []


async def test_a_refund_through_the_console_is_one_refund_and_audited(
    shop: Shop, signed_in: Opener
) -> None:
    user = await shop.login()
    order = await shop.paid_order(user)
    console = await signed_in(SANDBOX_OPERATOR, SANDBOX_OPERATOR_PASSWORD)
    token = await console.csrf(f"/console/orders/{order['id']}")
    confirm = await console.post(
        f"/console/orders/{order['id']}/refund/confirm",
        csrf_token=token,
        amount="5.5",
        reason="cold",
    )
    assert confirm.status_code == 200
    assert "¥5.50" in confirm.text
    key = _KEY.search(confirm.text)
    assert key is not None
    fields = {"csrf_token": token, "amount": "5.5", "reason": "cold"}
    for _ in range(2):  # a double submit of the confirmation is one refund
        done = await console.post(
            f"/console/orders/{order['id']}/refund", idempotency_key=key.group(1), **fields
        )
        assert done.status_code == 303, done.text
    page = await console.http.get(f"{shop.api}/console/orders/{order['id']}")
    assert "¥5.50" in page.text
    refunds = (await shop.dossier(order["id"]))["refunds"]
    assert [refund["amount_fen"] for refund in refunds] == [550]
    audit = await _audit(shop, "refund")
    assert [(row.username, row.target, row.outcome) for row in audit] == [
        ("sandbox", order["id"], "ok"),
        ("sandbox", order["id"], "ok"),
    ]
    assert [row.detail["replayed"] for row in audit] == [False, True]
    assert audit[0].detail["amount_fen"] == 550


async def test_a_viewer_may_not_refund_and_supports_limit_holds(
    shop: Shop, signed_in: Opener
) -> None:
    user = await shop.login()
    order = await shop.paid_order(user, [{"product_id": "beans", "quantity": 1}])  # ¥68.00
    _state(shop).config.support_refund_limit_fen = 1000
    viewer = await _operator(shop, signed_in, "viewer")
    support = await _operator(shop, signed_in, "support")
    refused = await viewer.refund(order["id"], "1.00")
    assert refused.status_code == 403
    close = await viewer.post(
        f"/console/orders/{order['id']}/refresh", csrf_token=await viewer.csrf()
    )
    assert close.status_code == 403
    above = await support.refund(order["id"], "10.01")
    assert above.status_code == 403
    within = await support.refund(order["id"], "10.00")
    assert within.status_code == 303, within.text
    assert [r["amount_fen"] for r in (await shop.dossier(order["id"]))["refunds"]] == [1000]
    outcomes = [(row.username, row.outcome) for row in await _audit(shop, "refund")]
    assert outcomes == [
        ("viewer-1", "forbidden"),
        ("support-1", "forbidden"),
        ("support-1", "ok"),
    ]
    assert [(row.username, row.outcome) for row in await _audit(shop, "refresh")] == [
        ("viewer-1", "forbidden")
    ]


async def test_an_idle_session_expires_and_sign_out_ends_it(shop: Shop, signed_in: Opener) -> None:
    console = await signed_in(SANDBOX_OPERATOR, SANDBOX_OPERATOR_PASSWORD)
    assert (await console.http.get(f"{shop.api}/console/")).status_code == 200
    idle = _state(shop).operators.idle_timeout + timedelta(seconds=1)
    async with shop.stack.service.ctx.uow() as uow:
        await uow.session.execute(
            update(OperatorSessionRow).values(last_seen_at=datetime.now(UTC) - idle)
        )
        await uow.commit()
    expired = await console.http.get(f"{shop.api}/console/orders")
    assert expired.status_code == 303
    assert "expired=1" in expired.headers["location"]
    again = await signed_in(SANDBOX_OPERATOR, SANDBOX_OPERATOR_PASSWORD)
    token = again.http.cookies["mppay_console"]
    out = await again.post("/console/sign-out", csrf_token=await again.csrf())
    assert out.status_code == 303
    # the old cookie, sent again after sign-out, opens nothing
    async with httpx.AsyncClient(timeout=10, cookies={"mppay_console": token}) as replay:
        after = await replay.get(f"{shop.api}/console/")
    assert after.status_code == 303
    assert [row.outcome for row in await _audit(shop, "sign_out")] == ["ok"]


async def test_the_csv_export_streams_every_matching_order(shop: Shop, signed_in: Opener) -> None:
    user = await shop.login()
    paid = [await shop.paid_order(user) for _ in range(2)]
    await shop.create_order(user)  # PENDING: filtered out below
    console = await signed_in(SANDBOX_OPERATOR, SANDBOX_OPERATOR_PASSWORD)
    async with console.http.stream(
        "GET", f"{shop.api}/console/orders.csv", params={"status": "PAID"}
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        assert "content-length" not in answer.headers  # streamed, not built whole
        body = b"".join([chunk async for chunk in answer.aiter_bytes()])
    rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert sorted(row["order_id"] for row in rows) == sorted(order["id"] for order in paid)
    assert {row["amount_yuan"] for row in rows} == {"18.00"}
    assert all(row["created_at_beijing"].endswith("+08:00") for row in rows)
    assert [row.outcome for row in await _audit(shop, "export_orders")] == ["ok"]


async def test_the_paid_chart_sums_every_order_of_a_bucket(shop: Shop) -> None:
    """Two orders paid seconds apart in one hour are one bucket holding both amounts (SQLite
    once grouped by the fractional bucket: one group per second, the last one winning)."""
    ctx = shop.stack.service.ctx
    user = await shop.login()
    first, second = [await shop.paid_order(user) for _ in range(2)]
    start = ctx.clock.now() - timedelta(hours=1)
    async with ctx.uow() as uow:
        for order, offset in ((first, 60), (second, 125)):
            await uow.session.execute(
                update(OrderRow)
                .where(OrderRow.id == order["id"])
                .values(paid_at=start + timedelta(seconds=offset))
            )
        await uow.commit()
    async with ctx.uow(read_only=True) as uow:
        assert await uow.console.paid_by_bucket(start, 3600, 2) == {0: 3600}


async def test_the_published_password_opens_nothing_outside_the_sandbox_and_guessing_is_limited(
    shop: Shop,
) -> None:
    # A database that once ran the sandbox keeps its `sandbox` operator; real mode refuses it.
    _state(shop).operators.allow_sandbox_password = False
    async with httpx.AsyncClient(timeout=10) as http:
        console = Console(shop, http)
        published = await console.sign_in(SANDBOX_OPERATOR, SANDBOX_OPERATOR_PASSWORD)
        guesses = [(await console.sign_in("sandbox", "wrong password!")) for _ in range(5)]
    assert published.status_code == 401
    # a burst of 5 per name: the sixth attempt within the minute is refused unchecked
    assert [answer.status_code for answer in guesses] == [401] * 4 + [429]
    assert int(guesses[-1].headers["retry-after"]) >= 1
    audit = await _audit(shop, "sign_in")
    assert [row.detail for row in audit] == [{"reason": "sandbox_password_outside_sandbox"}] + [
        {"reason": "wrong_credentials"}
    ] * 4


async def test_review_resolution_job_retry_and_reconciliation_rerun_are_recorded(
    shop: Shop, signed_in: Opener
) -> None:
    ctx = shop.stack.service.ctx
    user = await shop.login()
    order = await shop.paid_order(user)
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        await uow.orders.flag_for_review(order["id"], "amount differs", now)
        await uow.jobs.enqueue("order.sync", {"order_id": order["id"]}, run_at=now, now=now)
        await uow.commit()
    async with ctx.uow() as uow:
        failed = await uow.console.jobs(failing_only=False, limit=50)
        job = next(j for j in failed if j.payload == {"order_id": order["id"]})
        await uow.session.execute(
            update(JobRow).where(JobRow.id == job.id).values(status="FAILED", last_error="boom")
        )
        await uow.commit()
    admin = await signed_in(SANDBOX_OPERATOR, SANDBOX_OPERATOR_PASSWORD)
    token = await admin.csrf()
    empty = await admin.post(f"/console/orders/{order['id']}/resolve", csrf_token=token, comment="")
    assert empty.status_code == 422
    done = await admin.post(
        f"/console/orders/{order['id']}/resolve", csrf_token=token, comment="checked the bill"
    )
    assert done.status_code == 303
    again = await admin.post(
        f"/console/orders/{order['id']}/resolve", csrf_token=token, comment="x"
    )
    assert again.status_code == 409  # nothing left to resolve
    timeline = (await shop.dossier(order["id"]))["timeline"]
    resolved = [entry for entry in timeline if entry["type"] == "review.resolved"]
    assert [entry["detail"]["comment"] for entry in resolved] == ["checked the bill"]
    assert (await shop.dossier(order["id"]))["order"]["needs_review"] is False

    assert (await admin.post(f"/console/jobs/{job.id}/retry", csrf_token=token)).status_code == 303
    async with ctx.uow(read_only=True) as uow:
        healthy = next(
            j for j in await uow.console.jobs(failing_only=False, limit=50) if j.id != job.id
        )
    refused = await admin.post(f"/console/jobs/{healthy.id}/retry", csrf_token=token)
    assert refused.status_code == 409  # only failing or failed jobs
    async with ctx.uow(read_only=True) as uow:
        retried = await uow.session.get(JobRow, job.id)
        assert retried is not None
        assert (retried.status, retried.attempts) == ("QUEUED", 0)

    yesterday = (now.astimezone(BEIJING) - timedelta(days=1)).date().isoformat()
    rerun = await admin.post("/console/reconciliation/rerun", csrf_token=token, date=yesterday)
    assert rerun.status_code == 303
    today = now.astimezone(BEIJING).date().isoformat()
    assert (
        await admin.post("/console/reconciliation/rerun", csrf_token=token, date=today)
    ).status_code == 422
    async with ctx.uow(read_only=True) as uow:
        assert await uow.jobs.open_for(f"reconcile:{yesterday}") is not None
    outcomes = {
        action: [row.outcome for row in await _audit(shop, action)]
        for action in ("resolve_review", "retry_job", "rerun_reconciliation")
    }
    assert outcomes == {
        "resolve_review": ["COMMENT_REQUIRED", "ok", "NOT_FLAGGED"],
        "retry_job": ["ok", "NOT_FAILING"],
        "rerun_reconciliation": ["ok", "INVALID_DATE"],
    }


async def test_crafted_console_input_gets_a_4xx_or_an_empty_page_never_a_5xx(
    shop: Shop, signed_in: Opener
) -> None:
    admin = await signed_in(SANDBOX_OPERATOR, SANDBOX_OPERATOR_PASSWORD)
    token = await admin.csrf()
    searches: list[dict[str, str]] = [
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},
        {"date_from": "9999-12-31", "date_to": "0001-01-01"},
        {"date_from": "2026-02-30"},
        {"amount_min": "999999999.99", "amount_max": "-1"},
        {"amount_min": "1e9"},
        {"q": "x" * 128, "status": "NOT_A_STATUS"},
        {"q": "ord_'; drop table orders; --"},
    ]
    for params in searches:
        for path in ("/console/orders", "/console/orders.csv"):
            answer = await admin.http.get(f"{shop.api}{path}", params=params)
            assert answer.status_code in (200, 422), (path, params, answer.status_code)
    for path, fields in [
        (f"/console/jobs/{2**63}/retry", {}),
        ("/console/jobs/0/retry", {}),
        ("/console/reconciliation/rerun", {"date": "0001-01-01"}),
        ("/console/reconciliation/rerun", {"date": "not a date"}),
        ("/console/orders/ord_missing/refund/confirm", {"amount": "1"}),
        ("/console/orders/ord_missing/refund", {"amount": "1", "idempotency_key": "k"}),
        ("/console/orders/ord_missing/resolve", {"comment": "c"}),
    ]:
        answer = await admin.post(path, csrf_token=token, **fields)
        assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text[:200])
    for path in ("/console/reconciliation/0001-01-01", "/console/orders/ord_missing"):
        assert (await admin.http.get(f"{shop.api}{path}")).status_code == 404
