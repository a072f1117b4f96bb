"""operations: outbox work that gave up, the request that scheduled it, an index of open work

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dcc.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "done_at IS NULL AND canceled_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_at", dcc.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))
    # The sweeper, /healthz and /metrics read only open work: a partial index keeps them cheap
    # however many finished rows the table holds.
    op.create_index(
        "ix_outbox_open_run_at",
        "outbox",
        ["run_at"],
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_open_run_at", table_name="outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("request_id")
        batch_op.drop_column("failed_at")
