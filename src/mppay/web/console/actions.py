"""The console's actions (POST, CSRF-checked): refund (with a confirmation step and an
idempotency key), close, refresh from WeChat, resolve a review, retry a job, re-run a day's
reconciliation.

Each checks the operator's role first (403, audited as ``forbidden``), calls the same use case
as the operations API, writes one audit row with the outcome, then redirects to the page it
came from (303) or shows that page again with the error and its status.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from mppay.domain.operators import may, refund_decision
from mppay.usecases import closing, console, refunds
from mppay.usecases import errors as uc
from mppay.usecases.admin import get_order_dossier
from mppay.web.console import views
from mppay.web.console.core import Operator, Signed, posted, redirect, render, state_of
from mppay.web.console.pages import order_page
from mppay.web.deps import Ctx
from mppay.web.errors import STATUS_BY_ERROR

router = APIRouter(prefix="/console", include_in_schema=False)


def status_of(exc: uc.UseCaseError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


async def _audit(
    request: Request,
    operator: Signed,
    action: str,
    target: str | None,
    outcome: str,
    detail: dict[str, Any] | None = None,
) -> None:
    await state_of(request).operators.record(
        operator.session.actor(operator.ip), action, target, outcome, detail
    )


async def _forbidden(
    request: Request, operator: Signed, action: str, target: str | None, key: str = "forbidden"
) -> Response:
    await _audit(request, operator, action, target, "forbidden")
    return render(request, "message.html", operator, status_code=403, message_key=key)


def _amount(fields: dict[str, str]) -> int:
    try:
        return views.typed_yuan(fields.get("amount", ""))
    except ValueError:
        raise uc.InvalidInput(
            "INVALID_AMOUNT", "the amount is yuan with at most two decimals"
        ) from None


@router.post("/orders/{order_id}/refund/confirm")
async def confirm_refund(request: Request, ctx: Ctx, operator: Operator, order_id: str) -> Response:
    """Step 1: check the amount and show it back with a fresh idempotency key."""
    fields = await posted(request, operator)
    if not may(operator.role, "refund"):
        return await _forbidden(request, operator, "refund", order_id)
    try:
        amount = _amount(fields)
        dossier = await get_order_dossier(ctx, order_id)
    except uc.UseCaseError as exc:
        return await order_page(
            request, ctx, operator, order_id, status_code=status_of(exc), error=exc.message
        )
    return render(
        request,
        "refund_confirm.html",
        operator,
        order=dossier.order,
        amount=amount,
        amount_input=fields.get("amount", ""),
        reason=fields.get("reason", "")[:80],
        idempotency_key=secrets.token_urlsafe(18),
        over_limit=refund_decision(
            operator.role,
            amount,
            support_limit_fen=state_of(request).config.support_refund_limit_fen,
        )
        == "limit",
    )


@router.post("/orders/{order_id}/refund")
async def refund(request: Request, ctx: Ctx, operator: Operator, order_id: str) -> Response:
    """Step 2: the refund itself. The key from step 1 makes a double submit one refund."""
    fields = await posted(request, operator)
    limit = state_of(request).config.support_refund_limit_fen
    try:
        amount = _amount(fields)
    except uc.InvalidInput as exc:
        await _audit(request, operator, "refund", order_id, exc.code)
        return await order_page(
            request, ctx, operator, order_id, status_code=422, error=exc.message
        )
    decision = refund_decision(operator.role, amount, support_limit_fen=limit)
    if decision != "allowed":
        await _audit(request, operator, "refund", order_id, "forbidden", {"amount_fen": amount})
        message = "forbidden_limit" if decision == "limit" else "forbidden"
        return render(request, "message.html", operator, status_code=403, message_key=message)
    reason = fields.get("reason", "").strip()[:80] or None
    key = fields.get("idempotency_key", "")[:255] or None
    detail: dict[str, Any] = {"amount_fen": amount, "reason": reason, "idempotency_key": key}
    try:
        created = await refunds.request_refund(ctx, order_id, amount, reason, idempotency_key=key)
    except uc.UseCaseError as exc:
        await _audit(request, operator, "refund", order_id, exc.code, detail)
        return await order_page(
            request, ctx, operator, order_id, status_code=status_of(exc), error=exc.message
        )
    detail["refund_id"] = created.refund.id
    detail["replayed"] = created.replayed
    await _audit(request, operator, "refund", order_id, "ok", detail)
    return redirect(f"/console/orders/{order_id}?done=refund")


async def _order_action(
    request: Request, ctx: Ctx, operator: Signed, order_id: str, action: str
) -> Response:
    fields = await posted(request, operator)
    if not may(operator.role, action):
        return await _forbidden(request, operator, action, order_id)
    detail: dict[str, Any] = {}
    try:
        if action == "close":
            dossier = await get_order_dossier(ctx, order_id)
            await closing.close_order(ctx, dossier.order, source="console")
        elif action == "refresh":
            await console.refresh_from_wechat(ctx, order_id)
        else:
            detail["comment"] = fields.get("comment", "")[:500]
            await console.resolve_review(
                ctx, order_id, fields.get("comment", ""), operator=operator.username
            )
    except uc.UseCaseError as exc:
        await _audit(request, operator, action, order_id, exc.code, detail)
        return await order_page(
            request, ctx, operator, order_id, status_code=status_of(exc), error=exc.message
        )
    await _audit(request, operator, action, order_id, "ok", detail)
    return redirect(f"/console/orders/{order_id}?done={action}")


@router.post("/orders/{order_id}/close")
async def close(request: Request, ctx: Ctx, operator: Operator, order_id: str) -> Response:
    return await _order_action(request, ctx, operator, order_id, "close")


@router.post("/orders/{order_id}/refresh")
async def refresh(request: Request, ctx: Ctx, operator: Operator, order_id: str) -> Response:
    return await _order_action(request, ctx, operator, order_id, "refresh")


@router.post("/orders/{order_id}/resolve")
async def resolve(request: Request, ctx: Ctx, operator: Operator, order_id: str) -> Response:
    return await _order_action(request, ctx, operator, order_id, "resolve_review")


@router.post("/jobs/{job_id}/retry")
async def retry(
    request: Request,
    ctx: Ctx,
    operator: Operator,
    job_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    await posted(request, operator)
    if not may(operator.role, "retry_job"):
        return await _forbidden(request, operator, "retry_job", str(job_id))
    try:
        await console.retry_job(ctx, job_id)
    except uc.UseCaseError as exc:
        await _audit(request, operator, "retry_job", str(job_id), exc.code)
        return render(
            request, "message.html", operator, status_code=status_of(exc), message=exc.message
        )
    await _audit(request, operator, "retry_job", str(job_id), "ok")
    return redirect("/console/jobs?done=retry")


@router.post("/reconciliation/rerun")
async def rerun(request: Request, ctx: Ctx, operator: Operator) -> Response:
    fields = await posted(request, operator)
    if not may(operator.role, "rerun_reconciliation"):
        return await _forbidden(request, operator, "rerun_reconciliation", fields.get("date"))
    text = fields.get("date", "")[:10]
    try:
        try:
            bill_date = date.fromisoformat(text)
        except ValueError:
            raise uc.InvalidInput("INVALID_DATE", "the date is YYYY-MM-DD") from None
        queued = await console.queue_reconciliation(ctx, bill_date)
    except uc.UseCaseError as exc:
        await _audit(request, operator, "rerun_reconciliation", text, exc.code)
        return render(
            request, "message.html", operator, status_code=status_of(exc), message=exc.message
        )
    await _audit(
        request, operator, "rerun_reconciliation", text, "ok" if queued else "already_queued"
    )
    return redirect("/console/reconciliation?done=rerun")
