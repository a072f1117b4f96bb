"""the rota: each DCC agent's planned shifts per weekday, for the staffing planner

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dcc.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rota_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.Column("created_at", dcc.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("weekday >= 0 AND weekday <= 6", name=op.f("ck_rota_shifts_weekday")),
        sa.CheckConstraint(
            "start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute",
            name=op.f("ck_rota_shifts_within_day"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_rota_shifts_agent_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rota_shifts")),
    )
    with op.batch_alter_table("rota_shifts", schema=None) as batch_op:
        batch_op.create_index("ix_rota_shifts_agent_weekday", ["agent_id", "weekday"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rota_shifts", schema=None) as batch_op:
        batch_op.drop_index("ix_rota_shifts_agent_weekday")
    op.drop_table("rota_shifts")
