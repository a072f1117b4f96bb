"""outbox: open work is read through its partial index only

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 08:50:00.000000

``ix_outbox_pending`` (done_at, run_at) led SQLite's planner to read every row not done,
canceled ones included, for "when is the next work due" and "what is due now": a cost that
grew with each canceled timer. Every query of open work names both ``done_at IS NULL`` and
``canceled_at IS NULL``, which ``ix_outbox_open_run_at`` answers from its first entries.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_pending", "outbox", ["done_at", "run_at"], unique=False)
