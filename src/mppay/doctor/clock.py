"""WeChat's answers as evidence: the server time they carry, for the clock check.

An httpx response hook on the client handed to the protocol library records every answer, so
the checks read ``Wechatpay-Timestamp`` (v3, whole seconds, signed) or ``Date`` (any HTTP
answer) without the library having to expose them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from .result import CheckResult, failed, passed

__all__ = ["DEFAULT_MAX_SKEW_SECONDS", "Answer", "AnswerRecorder", "check_clock"]

DEFAULT_MAX_SKEW_SECONDS = 5.0
_NAME, _TITLE = "clock", "clock agrees with WeChat's"


@dataclass(frozen=True)
class Answer:
    """One answer from WeChat: the response (its body is read by the library) and when it came."""

    response: httpx.Response
    received_at: float

    def server_time(self) -> tuple[float, str] | None:
        """WeChat's Unix time for this answer and the header it came from, if any."""
        stamp = self.response.headers.get("Wechatpay-Timestamp", "")
        if stamp.isdigit():
            return float(stamp), "Wechatpay-Timestamp"
        date = self.response.headers.get("Date")
        if date:
            try:
                return parsedate_to_datetime(date).timestamp(), "Date"
            except (TypeError, ValueError):
                return None
        return None


class AnswerRecorder:
    """Response hook that keeps every answer, in arrival order."""

    def __init__(self, wall_clock: Callable[[], float] = time.time) -> None:
        self.answers: list[Answer] = []
        self._wall_clock = wall_clock

    async def __call__(self, response: httpx.Response) -> None:
        self.answers.append(Answer(response, self._wall_clock()))

    def last(self, path_contains: str) -> Answer | None:
        for answer in reversed(self.answers):
            if path_contains in answer.response.request.url.path:
                return answer
        return None

    def best_clock_evidence(self) -> Answer | None:
        """The newest answer with a signed ``Wechatpay-Timestamp``, else the newest with a Date."""
        stamped = [a for a in self.answers if "Wechatpay-Timestamp" in a.response.headers]
        dated = [a for a in self.answers if a.server_time() is not None]
        chosen = stamped or dated
        return chosen[-1] if chosen else None


def check_clock(answer: Answer | None, max_skew_seconds: float) -> CheckResult:
    """Our clock against the time WeChat stamped on its answer (seconds resolution)."""
    evidence = answer.server_time() if answer is not None else None
    if answer is None or evidence is None:
        return failed(
            _NAME,
            _TITLE,
            "no answer from WeChat Pay carried its time (the signed test call did not get through)",
            "fix the checks above, then run `mppay doctor` again",
        )
    server, header = evidence
    # The stamp is truncated to whole seconds: allow that second on top of the limit.
    skew = answer.received_at - server
    if abs(skew) > max_skew_seconds + 1:
        direction = "ahead of" if skew > 0 else "behind"
        return failed(
            _NAME,
            _TITLE,
            f"this machine is {abs(skew):.0f} s {direction} WeChat Pay ({header}); more than "
            f"{max_skew_seconds:g} s",
            "synchronise the clock with NTP (chrony or systemd-timesyncd): WeChat refuses "
            "signatures and mppay refuses notifications 5 minutes off, and expiry times drift",
        )
    return passed(_NAME, _TITLE, f"within {max(abs(skew), 1):.0f} s of WeChat Pay ({header})")
