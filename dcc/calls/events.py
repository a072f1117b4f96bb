"""Provider events -> one call record per CallSid, whatever their order or repetition.

Twilio sends each status change as a separate request; order is not guaranteed and retries
duplicate them. Every field of the record is therefore merged with an order-free rule (the
highest status, the earliest answer, the latest end, the longest duration), so that any
permutation or duplication of a call's events leaves the same final record, and a terminal
state never goes back to a live one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.calls.models import TERMINAL_CALL_STATUSES, Call, CallDirection, CallEvent, CallStatus
from dcc.db import dialect_of, insert_for, insert_ignoring

#: Live states by progress; terminal states above every live one, in a fixed order so that
#: two different terminal reports (which real calls don't send) still merge the same way.
STATUS_RANK: dict[CallStatus, int] = {
    CallStatus.QUEUED: 0,
    CallStatus.INITIATED: 1,
    CallStatus.RINGING: 2,
    CallStatus.IN_PROGRESS: 3,
    CallStatus.CANCELED: 10,
    CallStatus.FAILED: 11,
    CallStatus.NO_ANSWER: 12,
    CallStatus.BUSY: 13,
    CallStatus.COMPLETED: 14,
}


def parse_status(value: str | None) -> CallStatus | None:
    try:
        return CallStatus(value) if value else None
    except ValueError:
        return None


def event_time(params: Mapping[str, str]) -> dt.datetime:
    """When the provider says the event happened (``Timestamp``), else when we got it."""
    raw = params.get("Timestamp")
    if raw:
        try:
            moment = parsedate_to_datetime(raw)
            if moment.tzinfo is not None:
                return moment.astimezone(dt.UTC)
        except (TypeError, ValueError):
            pass
    return clock.now()


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


_calls = cast(Table, Call.__table__)
#: Every column a new call is written with; one parameter set, so one prepared statement.
_CALL_COLUMNS = [c for c in _calls.columns if c.key not in {"id", "created_at", "updated_at"}]


#: Read on every provider event: built once (a statement costs more to build than to run).
_BY_SID = select(Call).where(Call.sid == bindparam("sid"))
_LOCKED_BY_SID = _BY_SID.with_for_update()
_LOCKED_BY_ID = select(Call).where(Call.id == bindparam("call_id")).with_for_update()


def lock_call(session: Session, call_id: int) -> Call | None:
    return session.scalar(_LOCKED_BY_ID, {"call_id": call_id})


def by_sid(session: Session, sid: str) -> Call | None:
    """The call with the provider's CallSid ``sid`` (None when none is on record)."""
    return session.scalar(_BY_SID, {"sid": sid})


def call_for_sid(
    session: Session,
    sid: str,
    direction: CallDirection,
    params: Mapping[str, str] | None = None,
    **fields: object,
) -> Call:
    """The call with this CallSid, locked; created when this is its first event.

    A new row is written in one statement, already holding what ``params`` says and any
    ``fields`` (the lead it belongs to, say). Two first events of one call can arrive at
    once: the insert ignores the loser's conflict, which then locks and merges into the row.
    """
    call = session.scalar(_LOCKED_BY_SID, {"sid": sid})
    if call is not None:
        if params is not None:
            merge_status(call, params)
        return call
    created = session.scalars(
        insert_for(session, Call)
        .values(**_new_call_values(sid, direction, params, fields))
        .on_conflict_do_nothing(index_elements=["sid"])
        .returning(Call)
    ).first()
    if created is not None:
        return created
    call = session.scalar(_LOCKED_BY_SID, {"sid": sid})
    assert call is not None  # inserted by the concurrent winner
    for key, value in fields.items():
        if getattr(call, key) is None:
            setattr(call, key, value)
    if params is not None:
        merge_status(call, params)
    return call


def insert_call(
    session: Session,
    sid: str,
    direction: CallDirection,
    params: Mapping[str, str] | None = None,
    **fields: object,
) -> int | None:
    """Write a new call record (what ``params`` says, plus ``fields``) and return its id;
    None when the call is already on record (then :func:`call_for_sid` merges into it).

    The hotline's way: a prebuilt statement with every column, and no ORM object loaded."""
    values = dict.fromkeys(c.key for c in _CALL_COLUMNS)
    values.update(_new_call_values(sid, direction, params, fields))
    session.flush()
    statement = insert_ignoring(dialect_of(session), _calls, ("sid",), ("id",))
    created: int | None = session.connection().execute(statement, values).scalar()
    return created


def _new_call_values(
    sid: str,
    direction: CallDirection,
    params: Mapping[str, str] | None,
    fields: Mapping[str, object],
) -> dict[str, object]:
    """A new call record's columns: what ``params`` says, plus ``fields``."""
    draft = Call(
        sid=sid, direction=direction, leg="customer", status=CallStatus.QUEUED, status_rank=0
    )
    if params is not None:
        merge_status(draft, params)
    now = clock.now()
    values = {
        column.key: getattr(draft, column.key)
        for column in _CALL_COLUMNS
        if getattr(draft, column.key) is not None
    }
    values.update(created_at=now, updated_at=now, **fields)
    return values


def direction_of(params: Mapping[str, str]) -> CallDirection:
    return CallDirection.INBOUND if params.get("Direction") == "inbound" else CallDirection.OUTBOUND


def merge_status(call: Call, params: Mapping[str, str]) -> None:
    """Fold one status callback into the record with order-free rules."""
    status = parse_status(params.get("CallStatus"))
    call.parent_sid = call.parent_sid or params.get("ParentCallSid") or None
    call.from_number = call.from_number or params.get("From") or None
    call.to_number = call.to_number or params.get("To") or None
    call.answered_by = call.answered_by or params.get("AnsweredBy") or None
    if status is None:
        return
    at = event_time(params)
    rank = STATUS_RANK[status]
    if rank > call.status_rank:
        call.status, call.status_rank = status, rank
    call.started_at = earliest(call.started_at, at)
    if status == CallStatus.IN_PROGRESS:
        call.answered_at = earliest(call.answered_at, at)
    if status in TERMINAL_CALL_STATUSES:
        call.ended_at = latest(call.ended_at, at)
        duration = _int(params.get("CallDuration"))
        if duration is not None:
            call.duration = max(call.duration or 0, duration)
        if status == CallStatus.COMPLETED and duration:
            # Talk time proves an answer even when the in-progress event is late or lost.
            call.answered_at = earliest(call.answered_at, at - dt.timedelta(seconds=duration))


def merge_dial_result(call: Call, params: Mapping[str, str]) -> None:
    """The parent's ``<Dial>`` action speaks for the dialled leg: ``completed`` with talk time
    means that leg was answered, whatever its own status callbacks say or have not said yet."""
    talk = _int(params.get("DialCallDuration"))
    if params.get("DialCallStatus") != "completed" or not talk:
        return
    call.answered_at = earliest(call.answered_at, event_time(params) - dt.timedelta(seconds=talk))


def merge_recording(call: Call, params: Mapping[str, str]) -> None:
    """A recording callback: keep the completed recording, never an earlier partial one."""
    state = params.get("RecordingStatus", "completed")
    if state == "absent":
        return
    if state != "completed" and call.recording_url:
        return
    sid, url = params.get("RecordingSid"), params.get("RecordingUrl")
    if not url:
        return
    if call.recording_sid and state != "completed":
        return
    call.recording_sid = sid or call.recording_sid
    call.recording_url = url
    duration = _int(params.get("RecordingDuration"))
    if duration is not None:
        call.recording_duration = max(call.recording_duration or 0, duration)


_INSERT_EVENT = insert(cast(Table, CallEvent.__table__))


def log_event(session: Session, kind: str, params: Mapping[str, str]) -> None:
    """Keep the raw callback: the audit trail and the way to replay a call's history."""
    session.connection().execute(
        _INSERT_EVENT,
        {
            "call_sid": params.get("CallSid", ""),
            "kind": kind,
            "status": params.get("CallStatus")
            or params.get("DialCallStatus")
            or params.get("RecordingStatus"),
            "sequence_number": _int(params.get("SequenceNumber")),
            "payload": dict(params),
            "received_at": clock.now(),
        },
    )


def earliest(current: dt.datetime | None, new: dt.datetime) -> dt.datetime:
    """The earlier of two moments (an unknown one loses)."""
    return new if current is None or new < current else current


def latest(current: dt.datetime | None, new: dt.datetime) -> dt.datetime:
    """The later of two moments (an unknown one loses)."""
    return new if current is None or new > current else current
