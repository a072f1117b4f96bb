"""What every ``dcc`` command shares: refusing with a message and exit code 2, and tables."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from dcc.errors import DCCError


def fail(error: DCCError) -> NoReturn:
    """Print the refusal (naming the field) on stderr and exit 2; nothing was changed."""
    where = f" ({error.field})" if error.field else ""
    click.echo(f"error{where}: {error.message}", err=True)
    sys.exit(2)


def echo_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Rows under a header, in columns as wide as their widest value."""
    lines = [[str(v) for v in header], *([str(v) for v in row] for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        click.echo("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
