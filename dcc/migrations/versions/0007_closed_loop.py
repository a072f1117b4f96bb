"""closed loop: order details, owned vehicles, the vehicle catalogue, why work was canceled,
follow-up purposes, and the loop audit's runs

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 01:19:07.420943
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dcc.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loop_audit_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ran_at", dcc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loop_audit_runs")),
    )
    with op.batch_alter_table("loop_audit_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loop_audit_runs_ran_at"), ["ran_at"], unique=False)

    op.create_table(
        "vehicle_catalogue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand", sa.String(length=60), nullable=False),
        sa.Column("series", sa.String(length=60), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("configuration", sa.String(length=120), nullable=False),
        sa.Column("guide_price_fen", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", dcc.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicle_catalogue")),
        sa.UniqueConstraint(
            "brand", "series", "model", "configuration", name="uq_vehicle_catalogue_entry"
        ),
    )
    op.create_table(
        "customer_vehicles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("vin", sa.String(length=17), nullable=True),
        sa.Column("brand", sa.String(length=60), nullable=True),
        sa.Column("series", sa.String(length=60), nullable=True),
        sa.Column("model", sa.String(length=120), nullable=True),
        sa.Column("configuration", sa.String(length=120), nullable=True),
        sa.Column("delivered_at", dcc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_vehicles_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_customer_vehicles_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_vehicles")),
        sa.UniqueConstraint("order_id", name=op.f("uq_customer_vehicles_order_id")),
    )
    with op.batch_alter_table("customer_vehicles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_vehicles_customer_id"), ["customer_id"], unique=False
        )

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("canceled_reason", sa.String(length=30), nullable=True))

    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("canceled_reason", sa.String(length=30), nullable=True))

    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purpose", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("canceled_reason", sa.String(length=30), nullable=True))

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("close_reason", sa.String(length=30), nullable=True))

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("price_fen", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("deposit_fen", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("delivery_due", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("canceled_at", dcc.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("canceled_at")
        batch_op.drop_column("delivery_due")
        batch_op.drop_column("deposit_fen")
        batch_op.drop_column("price_fen")

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("close_reason")

    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_column("canceled_reason")
        batch_op.drop_column("purpose")

    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_column("canceled_reason")

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("canceled_reason")

    with op.batch_alter_table("customer_vehicles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_vehicles_customer_id"))

    op.drop_table("customer_vehicles")
    op.drop_table("vehicle_catalogue")
    with op.batch_alter_table("loop_audit_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loop_audit_runs_ran_at"))

    op.drop_table("loop_audit_runs")
