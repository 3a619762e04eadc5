"""shipping information (发货信息管理)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("logistics_type", sa.Integer(), nullable=True),
        sa.Column("packages", sa.JSON(), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("uploads", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _at("uploaded_at", True),
        _at("confirmed_at", True),
        _at("settled_at", True),
        _at("alerted_at", True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_shipments_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_shipments")),
    )
    op.create_index(
        "ix_shipments_state_created_at", "shipments", ["state", "created_at"], unique=False
    )
    op.create_table(
        "shipment_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        _at("upload_time"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        _at("created_at"),
        _at("finished_at", True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_shipment_requests_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_requests")),
        sa.UniqueConstraint(
            "order_id", "idempotency_key", name=op.f("uq_shipment_requests_order_id")
        ),
    )
    op.create_index(
        op.f("ix_shipment_requests_order_id"), "shipment_requests", ["order_id"], unique=False
    )
    op.create_table(
        "message_pushes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.String(length=32), nullable=True),
        sa.Column("order_id", sa.String(length=32), nullable=True),
        _at("received_at"),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_message_pushes_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_pushes")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_message_pushes_dedupe_key")),
    )
    op.create_index(
        op.f("ix_message_pushes_order_id"), "message_pushes", ["order_id"], unique=False
    )
    op.create_index(
        op.f("ix_message_pushes_transaction_id"),
        "message_pushes",
        ["transaction_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("message_pushes")
    op.drop_table("shipment_requests")
    op.drop_table("shipments")
