"""WeChat-facing notification endpoints. The body is read once as raw bytes and verified
over exactly those bytes; nothing is parsed before the signature is checked.

URLs (the notify_url given to WeChat): ``/notify/v3/payments``, ``/notify/v3/refunds``,
``/notify/v2/payments``, ``/notify/v2/refunds``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from fastapi import APIRouter, Request, Response

from mppay.usecases import notifications
from mppay.usecases.context import ServiceContext
from mppay.usecases.notifications import NotificationOutcome
from mppay.web.deps import Ctx
from mppay.web.errors import notify_reply

router = APIRouter(prefix="/notify", tags=["WeChat notifications"])
log = logging.getLogger(__name__)

Handler = Callable[[ServiceContext, str, Mapping[str, str], bytes], Awaitable[NotificationOutcome]]
_HANDLERS: dict[str, Handler] = {
    "payments": notifications.receive_trade_notification,
    "refunds": notifications.receive_refund_notification,
}


@router.post("/{api_version}/{channel}", include_in_schema=True, summary="WeChat Pay notification")
async def receive(
    api_version: Literal["v3", "v2"],
    channel: Literal["payments", "refunds"],
    request: Request,
    ctx: Ctx,
) -> Response:
    body = await request.body()
    headers = dict(request.headers)
    handler = _HANDLERS[channel]
    gateway = ctx.gateway_for(api_version)
    try:
        result = await handler(ctx, api_version, headers, body)
    except Exception as exc:
        # Not acknowledged: WeChat retries on its schedule, and sync recovers meanwhile.
        log.exception("failed to handle a %s %s notification", api_version, channel)
        result = await notifications.record_failed_notification(
            ctx, api_version, channel.rstrip("s"), headers, body, f"{type(exc).__name__}: {exc}"
        )
    reply = notify_reply(gateway, result.kind)
    return Response(content=reply.body, status_code=reply.status_code, media_type=reply.media_type)
