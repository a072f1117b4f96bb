"""The dealer's call-flow settings, with their defaults; admins may override them.

Stored like the job policy (``dcc.settings_store``), read by routing, the queue, wrap-up and
dialling: each value has exactly one home here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from sqlalchemy.orm import Session

from dcc import audit, settings_store
from dcc.errors import ValidationError
from dcc.fields import Integer

SETTING = "call_policy"


@dataclass(frozen=True)
class CallPolicy:
    #: How long the lead's owner rings before the team is tried (seconds).
    owner_ring_seconds: int = 15
    #: How long each stage of up to ten agents rings (seconds).
    agent_ring_seconds: int = 20
    #: An agent who let a ring go unanswered is skipped for this long (minutes).
    skip_unanswered_minutes: int = 5
    #: A queued caller may press 1 for a callback after waiting this long (seconds).
    queue_callback_after_seconds: int = 90
    #: Wrap-up ends by itself after this long (seconds); the agent may extend it.
    wrap_up_seconds: int = 60
    #: What one extension of the wrap-up adds (seconds).
    wrap_up_extension_seconds: int = 60
    #: "Call the next one" leaves follow-ups waiting while fewer than this many other agents
    #: are ready for the hotline and new leads (0: follow-ups never wait).
    keep_ready_agents: int = 1
    #: A new web lead nobody could dial this long after it came in (every agent on a call or
    #: wrapping up) is rung directly: the customer hears a greeting and waits in the hotline
    #: queue for the first free agent (seconds; 0: the lead waits for an agent instead).
    customer_first_after_seconds: int = 45
    #: Said to the customer before a recorded outbound call; ``{dealer}`` is the dealer's name.
    recording_notice: str = "您好，这里是{dealer}。为保证服务质量，本次通话将被录音。"


def load(session: Session) -> CallPolicy:
    return settings_store.load_record(session, SETTING, CallPolicy)


def save(session: Session, **changes: object) -> CallPolicy:
    return settings_store.save_record(session, SETTING, CallPolicy, **changes)


#: The longest any of the call-flow times may be (seconds or minutes): an hour.
LONGEST = 3600
NOTICE = "recording_notice"


def _notice(raw: str) -> str:
    """The notice as typed, when it is said as it is or with the dealer's name filled in: a
    stray brace or another placeholder would break every call that says it."""
    text = raw.strip()
    if not text:
        raise ValidationError("field.required", field=NOTICE)
    try:
        text.format(dealer="")
    except (AttributeError, IndexError, KeyError, ValueError) as error:
        raise ValidationError(
            "field.bad_placeholder", field=NOTICE, placeholders="{dealer}"
        ) from error
    return text


def update(
    session: Session, changes: Mapping[str, str], *, actor_id: int | None = None
) -> CallPolicy:
    """Change the settings named in ``changes`` (as typed by an admin), each checked: times
    are whole numbers from 0 to an hour, the notice is not empty and names only the dealer.
    All or nothing; the change is audit-logged (``actor_id`` None: from the command line)."""
    known = sorted(f.name for f in fields(CallPolicy))
    values: dict[str, object] = {}
    for key, raw in changes.items():
        if key not in known:
            raise ValidationError("field.bad_choice", field=key, choices=", ".join(known))
        if key == NOTICE:
            values[key] = _notice(raw)
        else:
            values[key] = Integer(key, required=True, minimum=0, maximum=LONGEST).clean(raw)
    before = load(session)
    saved = save(session, **values)
    audit.record(
        session,
        actor_id=actor_id,
        action="call_policy.update",
        entity="call_policy",
        entity_id=None,
        changes={name: [getattr(before, name), getattr(saved, name)] for name in values},
    )
    return saved
