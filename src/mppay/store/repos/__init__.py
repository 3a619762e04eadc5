"""Repositories: every query the application runs lives in this package."""

from .console import ConsoleQueries
from .events import EventRepository
from .idempotency import IdempotencyRepository
from .jobs import JobRepository
from .notifications import NotificationRepository
from .operators import OperatorRepository
from .orders import OrderRepository, PaymentAttemptRepository
from .reconciliations import ReconciliationRepository
from .refunds import RefundRepository
from .retention import RetentionRepository
from .users import SessionRepository, UserRepository

__all__ = [
    "ConsoleQueries",
    "EventRepository",
    "IdempotencyRepository",
    "JobRepository",
    "NotificationRepository",
    "OperatorRepository",
    "OrderRepository",
    "PaymentAttemptRepository",
    "ReconciliationRepository",
    "RefundRepository",
    "RetentionRepository",
    "SessionRepository",
    "UserRepository",
]
