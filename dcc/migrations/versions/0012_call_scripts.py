"""call scripts: a wording per kind of call, the variant each call shows, offers and events

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-29 04:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dcc.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_scripts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("variants", sa.JSON(), nullable=True))
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("script_variant", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("script_version", sa.Integer(), nullable=True))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trade_in", sa.Boolean(), nullable=True))
    op.create_table(
        "script_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", dcc.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_offers")),
    )


def downgrade() -> None:
    op.drop_table("script_offers")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("trade_in")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("script_version")
        batch_op.drop_column("script_variant")
    with op.batch_alter_table("call_scripts", schema=None) as batch_op:
        batch_op.drop_column("variants")
