"""Repositories: every query the application runs lives in this package."""

from .events import EventRepository
from .idempotency import IdempotencyRepository
from .jobs import JobRepository
from .notifications import NotificationRepository
from .orders import OrderRepository, PaymentAttemptRepository
from .reconciliations import ReconciliationRepository
from .refunds import RefundRepository
from .retention import RetentionRepository
from .users import SessionRepository, UserRepository

__all__ = [
    "EventRepository",
    "IdempotencyRepository",
    "JobRepository",
    "NotificationRepository",
    "OrderRepository",
    "PaymentAttemptRepository",
    "ReconciliationRepository",
    "RefundRepository",
    "RetentionRepository",
    "SessionRepository",
    "UserRepository",
]
