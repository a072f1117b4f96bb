"""lead deliveries: idempotent lead webhooks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dcc.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.JSON(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("created_at", dcc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_deliveries_lead_id_leads")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["lead_sources.id"],
            name=op.f("fk_lead_deliveries_source_id_lead_sources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_deliveries")),
        sa.UniqueConstraint("source_id", "key", name="uq_lead_deliveries_source_key"),
    )
    with op.batch_alter_table("lead_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_deliveries_lead_id"), ["lead_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lead_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_deliveries_lead_id"))
    op.drop_table("lead_deliveries")
