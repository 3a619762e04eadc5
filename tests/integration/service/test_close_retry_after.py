"""v2's 5-minute close rule answers 409 with a ``Retry-After`` standard clients can honour."""

import re
from datetime import datetime, timedelta

import pytest

from tests.support.shop import Shop


@pytest.mark.parametrize("api_version", ["v2"])
async def test_an_early_v2_cancel_says_when_to_retry_in_delay_seconds(shop: Shop) -> None:
    user = await shop.login()
    order = await shop.create_order(user)
    await shop.pay(user, order["id"])
    early = await shop.http.post(
        f"{shop.api}/api/orders/{order['id']}/cancel", headers=user.headers
    )
    assert early.status_code == 409
    body = early.json()
    assert body["code"] == "CLOSE_NOT_YET_ALLOWED"
    # RFC 9110 §10.2.3: delay-seconds (or an HTTP-date), never an ISO 8601 timestamp.
    seconds = early.headers["Retry-After"]
    assert re.fullmatch(r"[1-9][0-9]*", seconds), seconds
    assert int(seconds) <= 6 * 60  # 5 minutes after the prepay, plus a small margin
    # The exact moment stays in the body; the header is that moment rounded up to a second.
    retry_at = datetime.fromisoformat(body["retry_at"])
    assert retry_at.tzinfo is not None
    now = shop.stack.service.ctx.clock.now()
    assert now < retry_at <= now + timedelta(seconds=int(seconds))
