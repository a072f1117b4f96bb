"""report speed: lead-day and follow-up-day roll-ups, indexes for staleness, follow-ups, medians

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNNEL_MEASURES = [
    "leads",
    "valid",
    "invited",
    "showed",
    "arrived",
    "orders",
    "lost",
    "lost_subjective",
    "responded",
    "responded_5min",
]
RESPONSE_BUCKETS = 25  # dcc.reports.median.BUCKETS
RESPONSE_COLUMNS = [f"response_{b:02d}" for b in range(RESPONSE_BUCKETS)]
# dcc.reports.median.seconds_between(first_response_at, created_at) as PostgreSQL spells it;
# the funnel's queries must say exactly this for the planner to use the index.
FIRST_RESPONSE_SECONDS = (
    "CAST(EXTRACT(EPOCH FROM (first_response_at - created_at)) AS DOUBLE PRECISION)"
)


def _counts(names: list[str]) -> list[sa.Column]:
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "report_lead_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        *_counts(FUNNEL_MEASURES),
        *_counts(RESPONSE_COLUMNS),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_report_lead_days_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_report_lead_days_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_lead_days")),
    )
    op.create_index(op.f("ix_report_lead_days_day"), "report_lead_days", ["day"])
    op.create_table(
        "report_follow_up_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("lead_team_id", sa.Integer(), nullable=True),
        sa.Column("lead_owner_id", sa.Integer(), nullable=True),
        *_counts(["done", "with_result", "on_time"]),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_report_follow_up_days_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["lead_team_id"],
            ["teams.id"],
            name=op.f("fk_report_follow_up_days_lead_team_id_teams"),
        ),
        sa.ForeignKeyConstraint(
            ["lead_owner_id"],
            ["users.id"],
            name=op.f("fk_report_follow_up_days_lead_owner_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_follow_up_days")),
    )
    op.create_index(op.f("ix_report_follow_up_days_day"), "report_follow_up_days", ["day"])
    op.create_index("ix_leads_updated_at", "leads", ["updated_at"])
    op.create_index(
        "ix_follow_ups_open_owner_due",
        "follow_ups",
        ["owner_id", "due_at"],
        postgresql_include=["lead_id"],
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_leads_first_response",
            "leads",
            [sa.text(FIRST_RESPONSE_SECONDS), "created_at"],
            postgresql_include=["team_id", "owner_id", "first_response_at"],
            postgresql_where=sa.text("first_response_at IS NOT NULL"),
        )
        # Statistics of the indexed expression, so that the planner sees how narrow a
        # response-time range is (they are gathered only by ANALYZE).
        op.execute("ANALYZE leads")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_leads_first_response", table_name="leads")
    op.drop_index("ix_follow_ups_open_owner_due", table_name="follow_ups")
    op.drop_index("ix_leads_updated_at", table_name="leads")
    op.drop_index(op.f("ix_report_follow_up_days_day"), table_name="report_follow_up_days")
    op.drop_table("report_follow_up_days")
    op.drop_index(op.f("ix_report_lead_days_day"), table_name="report_lead_days")
    op.drop_table("report_lead_days")
