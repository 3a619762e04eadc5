"""The web edge's one table from notification outcomes to answers, encoded per protocol."""

from __future__ import annotations

import json

import pytest

from mppay.usecases.notifications import Outcome
from mppay.web.errors import NOTIFY_ANSWERS, notify_reply
from tests.support.fakes import FakeGateway, MutableClock


def test_every_outcome_has_an_answer() -> None:
    assert set(NOTIFY_ANSWERS) == set(Outcome)


@pytest.mark.parametrize(
    ("outcome", "status", "message"),
    [
        (Outcome.REJECTED_SIGNATURE, 401, "signature invalid"),
        (Outcome.REJECTED_MALFORMED, 400, "malformed"),
        (Outcome.UNKNOWN_ORDER, 404, "unknown order"),
        (Outcome.UNKNOWN_REFUND, 404, "unknown refund"),
        (Outcome.OUR_FAILURE, 500, "internal error"),
    ],
)
def test_a_refused_notification_gets_its_status_and_fixed_message(
    outcome: Outcome, status: int, message: str
) -> None:
    reply = notify_reply(FakeGateway(MutableClock()), outcome)
    assert reply.status_code == status
    assert json.loads(reply.body) == {"code": "FAIL", "message": message}


@pytest.mark.parametrize("outcome", [Outcome.APPLIED, Outcome.DUPLICATE, Outcome.MISMATCH_FLAGGED])
def test_taken_duplicate_and_flagged_notifications_are_acknowledged(outcome: Outcome) -> None:
    reply = notify_reply(FakeGateway(MutableClock()), outcome)
    assert (reply.status_code, reply.body) == (204, b"")
