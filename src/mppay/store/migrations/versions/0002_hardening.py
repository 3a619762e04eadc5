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
    op.create_table(
        "refund_idempotency_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("refund_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_refund_idempotency_keys_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"],
            ["refunds.id"],
            name=op.f("fk_refund_idempotency_keys_refund_id_refunds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_idempotency_keys")),
        sa.UniqueConstraint("order_id", "key", name="uq_refund_idempotency_keys_order_key"),
    )
    op.create_index(
        "ix_refund_idempotency_keys_created_at",
        "refund_idempotency_keys",
        ["created_at"],
        unique=False,
    )
    # --- retention: indexes the trimming job walks ---
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"], unique=False)
    op.create_index(
        "ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"], unique=False
    )
    op.create_index(
        "ix_notifications_verified_received_at",
        "notifications",
        ["verified", "received_at"],
        unique=False,
    )
    op.create_index("ix_jobs_status_updated_at", "jobs", ["status", "updated_at"], unique=False)
    pass


def downgrade() -> None:
    # --- retention ---
    op.drop_index("ix_jobs_status_updated_at", table_name="jobs")
    op.drop_index("ix_notifications_verified_received_at", table_name="notifications")
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_index("ix_sessions_expires_at", table_name="sessions")
    # --- operator refunds ---
    op.drop_index("ix_refund_idempotency_keys_created_at", table_name="refund_idempotency_keys")
    op.drop_table("refund_idempotency_keys")
    # --- notifications ---
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("body_length")
        batch_op.drop_column("body_sha256")
    pass
