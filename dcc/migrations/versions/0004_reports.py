"""reports: agent-day roll-up, built-day marks, report indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dcc.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEAD_REPORT_COLUMNS = [
    "status",
    "grade",
    "channel",
    "source_id",
    "owner_id",
    "team_id",
    "series",
    "model",
    "invited_at",
    "arrived_at",
    "first_response_at",
    "lost_reason",
]
INDEXES = [
    ("ix_leads_status_closed", "leads", ["status", "closed_at"]),
    ("ix_calls_created_at", "calls", ["created_at"]),
    ("ix_appointments_created_at", "appointments", ["created_at"]),
    ("ix_follow_ups_status_due", "follow_ups", ["status", "due_at"]),
    ("ix_follow_ups_done_at", "follow_ups", ["done_at"]),
    ("ix_showroom_visits_appointment_id", "showroom_visits", ["appointment_id"]),
]


def upgrade() -> None:
    op.create_table(
        "report_agent_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("dialled", sa.Integer(), nullable=False),
        sa.Column("outbound_connects", sa.Integer(), nullable=False),
        sa.Column("inbound_answered", sa.Integer(), nullable=False),
        sa.Column("talk_seconds", sa.Integer(), nullable=False),
        sa.Column("appointments", sa.Integer(), nullable=False),
        sa.Column("arrivals", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_report_agent_days_agent_id_users")
        ),
        sa.PrimaryKeyConstraint("day", "agent_id", name=op.f("pk_report_agent_days")),
    )
    op.create_table(
        "report_built_days",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(length=60), nullable=False),
        sa.Column("built_at", dcc.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "day", name=op.f("pk_report_built_days")),
    )
    # Covering on PostgreSQL (index-only scans of a period's leads); a plain index elsewhere.
    op.create_index(
        "ix_leads_report", "leads", ["created_at"], postgresql_include=LEAD_REPORT_COLUMNS
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_leads_report", table_name="leads")
    op.drop_table("report_built_days")
    op.drop_table("report_agent_days")
