"""Rate-limited logging of refused notifications.

Anyone can POST junk to a notify URL; one WARNING line each would let them fill the disk and
bury real alerts. Per window, the first ``burst`` refusals are logged one by one, the rest are
counted, and the count is logged as one summary line when the next refusal opens a new window.
Each refusal is still stored (bounded) and counted in the metrics; only the log is thinned.
Lines carry the kind and the bounded reason, never the body or a header value.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

__all__ = ["RejectionLog"]

_REASON_IN_LOG_MAX_CHARS = 200


class RejectionLog:
    """Logs refused notifications, at most ``burst`` lines plus one summary per window.

    >>> rejections = RejectionLog(burst=5, window_seconds=60)
    >>> rejections.rejected("v3", "payment", "SignatureMismatchError: ...")  # logged
    """

    def __init__(
        self,
        logger: logging.Logger | None = None,
        *,
        burst: int = 5,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger or logging.getLogger("mppay.usecases.notifications")
        self._burst = burst
        self._window_seconds = window_seconds
        self._clock = clock
        self._window_start: float | None = None
        self._logged = 0
        self._suppressed: Counter[str] = Counter()

    def rejected(self, api_version: str, channel: str, reason: str) -> None:
        now = self._clock()
        if self._window_start is None or now - self._window_start >= self._window_seconds:
            self._open_window(now)
        kind = f"{api_version} {channel}"
        if self._logged < self._burst:
            self._logged += 1
            self._log.warning(
                "rejected %s notification: %s", kind, reason[:_REASON_IN_LOG_MAX_CHARS]
            )
            if self._logged == self._burst:
                self._log.warning(
                    "rejected notifications: %d logged in this %g s window; "
                    "further ones are counted and summarised when it ends",
                    self._burst,
                    self._window_seconds,
                )
        else:
            self._suppressed[kind] += 1

    def _open_window(self, now: float) -> None:
        if self._suppressed:
            self._log.warning(
                "rejected notifications: %d more in the last window were not logged (%s)",
                sum(self._suppressed.values()),
                ", ".join(f"{kind}: {n}" for kind, n in sorted(self._suppressed.items())),
            )
        self._window_start = now
        self._logged = 0
        self._suppressed.clear()
