"""Developer tools over the stored record: the live event feed and notification replay.

``mppay listen`` polls ``events_after``; ``mppay events resend`` calls ``resend_notification``,
which runs a stored verified notification through the same use case the notify endpoint
uses, with the stored headers and exact body. Verification runs as for any delivery: a v3
notification whose ``Wechatpay-Timestamp`` is more than 5 minutes old is refused by the time
window, as WeChat's replay protection wants. A replay of an applied notification is a
duplicate: it records a ``notification.duplicate`` event and changes no state.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mppay.store.models import OrderEventRow
from mppay.usecases import notifications
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import Conflict, NotFound

__all__ = ["Replay", "events_after", "latest_event_id", "resend_notification"]

FEED_LIMIT = 200


@dataclass(frozen=True)
class Replay:
    """A replay's result: the source row, what the handler decided, the events it added."""

    source_id: int
    notification_id: str | None
    channel: str
    kind: str
    outcome: str
    order_id: str | None
    events: list[OrderEventRow]


async def events_after(
    ctx: ServiceContext, after_id: int, limit: int = FEED_LIMIT
) -> list[OrderEventRow]:
    async with ctx.uow(read_only=True) as uow:
        return await uow.events.after(after_id, min(max(limit, 1), FEED_LIMIT))


async def latest_event_id(ctx: ServiceContext) -> int:
    async with ctx.uow(read_only=True) as uow:
        return await uow.events.last_id()


async def resend_notification(ctx: ServiceContext, ref: str) -> Replay:
    """Replay stored notification ``ref``: our row id (digits) or WeChat's notification id."""
    async with ctx.uow(read_only=True) as uow:
        row = (
            await uow.notifications.get(int(ref))
            if ref.isdigit()
            else await uow.notifications.latest_verified(ref)
        )
        marker = await uow.events.last_id()
    if row is None:
        raise NotFound("NOTIFICATION_NOT_FOUND", f"no stored notification {ref}")
    body = row.body.encode()
    # Only verified rows keep the whole body; a prefix (or a changed text) cannot be replayed.
    if not row.verified or (
        row.body_sha256 is not None and hashlib.sha256(body).hexdigest() != row.body_sha256
    ):
        raise Conflict(
            "NOTIFICATION_NOT_REPLAYABLE",
            f"notification {ref} was not verified: only a prefix of its body was kept",
        )
    handler = (
        notifications.receive_refund_notification
        if row.channel == "refund"
        else notifications.receive_trade_notification
    )
    result = await handler(ctx, row.api_version, row.headers, body)
    events: list[OrderEventRow] = []
    if row.order_id is not None:
        async with ctx.uow(read_only=True) as uow:
            events = [
                e for e in await uow.events.after(marker, FEED_LIMIT) if e.order_id == row.order_id
            ]
    return Replay(
        source_id=row.id,
        notification_id=row.notification_id,
        channel=row.channel,
        kind=result.kind.value,
        outcome=result.outcome,
        order_id=row.order_id,
        events=events,
    )
