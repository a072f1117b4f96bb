"""The rules of a showroom visit's input fields (see :mod:`dcc.fields`), from its columns."""

from __future__ import annotations

from dcc.fields import Integer, column_range
from dcc.sales.models import ShowroomVisit

_FEWEST, _MOST = column_range(ShowroomVisit.party_size)
PARTY_SIZE = Integer("party_size", required=True, minimum=_FEWEST, maximum=_MOST)
