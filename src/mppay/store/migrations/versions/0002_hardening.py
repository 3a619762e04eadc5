"""hardening: bounded rejected notifications, operator refund idempotency, retention

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # --- notifications: bounded records of rejected notifications ---
    # Nullable: the rows already stored were decoded lossily, so their bytes cannot be hashed.
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("body_length", sa.Integer(), nullable=True))
    # --- operator refunds: Idempotency-Key per order ---
    # --- retention: indexes the trimming job walks ---
    pass


def downgrade() -> None:
    # --- retention ---
    # --- operator refunds ---
    # --- notifications ---
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("body_length")
        batch_op.drop_column("body_sha256")
    pass
