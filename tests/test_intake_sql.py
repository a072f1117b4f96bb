"""The intake's one-statement inserts apply no Python-side defaults: each column that has one
(or that may not be null) must be named in the statement's column list, or a new lead would
silently miss it on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Table

from dcc.leads import intake_sql


def unfilled(table: Table, keys: tuple[str, ...]) -> set[str]:
    """Columns of ``table`` that need a value from Python and are not among ``keys``."""
    return {
        column.key
        for column in table.columns
        if not column.primary_key
        and column.server_default is None
        and (column.default is not None or not column.nullable)
        and column.key not in keys
    }


def test_every_column_with_a_python_default_is_written_by_the_intake() -> None:
    for table, keys in (
        (intake_sql.customers, intake_sql.CUSTOMER_KEYS),
        (intake_sql.customer_phones, intake_sql.PHONE_KEYS),
        (intake_sql.leads, intake_sql.LEAD_KEYS),
        (intake_sql.follow_ups, intake_sql.FOLLOW_UP_KEYS),
        (intake_sql.touches, intake_sql.TOUCH_KEYS),
    ):
        assert unfilled(table, keys) == set(), table.name


def test_a_column_left_out_is_found() -> None:
    keys = tuple(k for k in intake_sql.LEAD_KEYS if k != "attempt_count")
    assert unfilled(intake_sql.leads, keys) == {"attempt_count"}
