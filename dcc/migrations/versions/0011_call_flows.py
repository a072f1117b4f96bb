"""call flows: the served hotline queue, screened legs, unknown placements, agents skipped
after an unanswered ring, the wrap-up timer

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 04:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dcc.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = "queued_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("queued_at", dcc.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("accepted_at", dcc.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("placement", sa.String(length=10), nullable=True))
    op.create_index(
        "ix_calls_queued",
        "calls",
        ["queued_at"],
        postgresql_where=sa.text(QUEUED),
        sqlite_where=sa.text(QUEUED),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("skip_until", dcc.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("wrap_up_until", dcc.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    op.drop_index("ix_calls_queued", table_name="calls")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("wrap_up_until")
        batch_op.drop_column("skip_until")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("placement")
        batch_op.drop_column("accepted_at")
        batch_op.drop_column("queued_at")
        batch_op.drop_column("kind")
