"""Speed-to-lead: what happens the moment a new web or portal lead is stored.

A web lead is worth most in its first minutes (DOMAIN.md: first response time, share within
5 minutes). The lead webhook calls :func:`lead_received` for every NEW lead it stores; the lead
engineer wires the first-contact job and the auto-dial of ``source.auto_dial`` sources here.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from dcc.leads.models import Lead, LeadSource


def lead_received(session: Session, lead: Lead, source: LeadSource) -> None:
    """React to a new ``lead`` from ``source``; for now it does nothing.

    Called once per new lead (never for a touch on an open lead, never for a replayed
    delivery), inside the request's transaction and after the lead is flushed, so ``lead.id``
    is set. Write rows here rather than talk to Redis: the transaction may still roll back,
    and work must be enqueued only after it commits (ARCHITECTURE.md, Jobs).
    """
    return None
