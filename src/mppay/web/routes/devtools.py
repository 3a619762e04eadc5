"""Developer tools (Bearer ``MPPAY_ADMIN_TOKEN``): the event feed ``mppay listen`` polls,
notification replay for ``mppay events resend``, and the service's clock for ``mppay clock``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from mppay.usecases import devtools
from mppay.web.deps import AdminAuth, Ctx
from mppay.web.schemas import ErrorBody

router = APIRouter(
    prefix="/admin/api",
    tags=["developer tools"],
    dependencies=[AdminAuth],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)


class FeedEvent(BaseModel):
    id: int
    order_id: str
    at: datetime
    type: str
    source: str
    detail: dict[str, Any]


class EventFeed(BaseModel):
    events: list[FeedEvent]
    next_after: int  # pass as ``after`` to get what happens next


class ReplayResult(BaseModel):
    source_id: int
    notification_id: str | None
    channel: str
    kind: str  # applied | duplicate | rejected-signature | ...
    outcome: str  # what the new stored record says
    order_id: str | None
    events: list[FeedEvent]  # what the replay added to the order's timeline


class ServiceTime(BaseModel):
    now: datetime


def _event(row: Any) -> FeedEvent:
    return FeedEvent(
        id=row.id,
        order_id=row.order_id,
        at=row.at,
        type=row.type,
        source=row.source,
        detail=row.detail,
    )


@router.get("/events", response_model=EventFeed)
async def events(
    ctx: Ctx,
    after: Annotated[
        int | None, Query(ge=0, description="events with a larger id; omitted: start from now")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=devtools.FEED_LIMIT)] = 100,
) -> EventFeed:
    """Every order's events after an id, oldest first (what ``mppay listen`` polls)."""
    if after is None:
        return EventFeed(events=[], next_after=await devtools.latest_event_id(ctx))
    rows = await devtools.events_after(ctx, after, limit)
    return EventFeed(events=[_event(r) for r in rows], next_after=rows[-1].id if rows else after)


@router.post("/notifications/{ref}/resend", response_model=ReplayResult)
async def resend(ref: str, ctx: Ctx) -> ReplayResult:
    """Replay a stored verified notification (our row id or WeChat's id) through its handler."""
    replay = await devtools.resend_notification(ctx, ref)
    return ReplayResult(
        source_id=replay.source_id,
        notification_id=replay.notification_id,
        channel=replay.channel,
        kind=replay.kind,
        outcome=replay.outcome,
        order_id=replay.order_id,
        events=[_event(e) for e in replay.events],
    )


@router.get("/clock", response_model=ServiceTime)
async def clock(ctx: Ctx) -> ServiceTime:
    """The service's business time (in the sandbox, the emulator's movable clock)."""
    return ServiceTime(now=ctx.clock.now())
