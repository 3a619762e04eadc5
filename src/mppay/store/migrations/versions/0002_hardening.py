"""hardening: bounded rejected notifications, operator refund idempotency, retention

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401  (used by the sections below as they are filled in)
from alembic import op  # noqa: F401

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # --- notifications: bounded records of rejected notifications ---
    # --- operator refunds: Idempotency-Key per order ---
    # --- retention: indexes the trimming job walks ---
    pass


def downgrade() -> None:
    # --- retention ---
    # --- operator refunds ---
    # --- notifications ---
    pass
