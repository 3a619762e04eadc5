"""How long each kind of trimmable row is kept (``MPPAY_RETENTION_*``), and how hard a run works."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

__all__ = ["RetentionPolicy"]


@dataclass(frozen=True)
class RetentionPolicy:
    # Counted from the session's expiry, so a session is never trimmed while it still works.
    sessions_after_expiry: timedelta = timedelta(days=7)
    # A retry with the same Idempotency-Key after this gets a new order or refund.
    idempotency_keys: timedelta = timedelta(hours=72)
    rejected_notifications: timedelta = timedelta(days=30)
    # Counted from the job's last update (when it finished).
    finished_jobs: timedelta = timedelta(days=30)
    batch_size: int = 500
    max_batches: int = 20
    every: timedelta = timedelta(hours=1)
    catch_up_every: timedelta = timedelta(minutes=1)
