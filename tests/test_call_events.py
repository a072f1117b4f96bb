"""Any order and any repetition of a call's events gives one identical final record."""

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from dcc.calls import service as calls
from dcc.calls.models import Call, CallStatus

T0 = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
OUTCOMES = ["completed", "busy", "no-answer", "failed", "canceled"]
_sids = itertools.count()


def rfc2822(at: dt.datetime) -> str:
    return at.strftime("%a, %d %b %Y %H:%M:%S +0000")


def call_events(sid: str, outcome: str) -> list[tuple[str, dict[str, str]]]:
    """The events Twilio sends for one outbound leg ending in ``outcome``."""
    base = {
        "CallSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": "+864008123123",
        "To": "+8613800138000",
        "Direction": "outbound-api",
        "ApiVersion": "2010-04-01",
        "CallbackSource": "call-progress-events",
    }
    states = ["initiated", "ringing"] + (["in-progress"] if outcome == "completed" else [])
    events = [
        (
            "status",
            {
                **base,
                "CallStatus": s,
                "SequenceNumber": str(i),
                "Timestamp": rfc2822(T0 + dt.timedelta(seconds=3 * i)),
            },
        )
        for i, s in enumerate(states)
    ]
    talk = 47 if outcome == "completed" else 0
    events.append(
        (
            "status",
            {
                **base,
                "CallStatus": outcome,
                "SequenceNumber": str(len(states)),
                "Timestamp": rfc2822(T0 + dt.timedelta(seconds=10 + talk)),
                "CallDuration": str(talk),
                "Duration": "1",
            },
        )
    )
    if outcome == "completed":
        recording = {
            "CallSid": sid,
            "AccountSid": base["AccountSid"],
            "RecordingSid": "RE" + sid[2:],
            "RecordingUrl": f"https://api.twilio.com/recordings/RE{sid[2:]}",
        }
        events.append(("recording", {**recording, "RecordingStatus": "in-progress"}))
        events.append(
            ("recording", {**recording, "RecordingStatus": "completed", "RecordingDuration": "45"})
        )
    return events


def apply(session: Session, events: list[tuple[str, dict[str, str]]]) -> dict[str, object]:
    for kind, params in events:
        if kind == "status":
            calls.record_status(session, params)
        else:
            calls.record_recording(session, params)
    session.flush()
    call = session.query(Call).filter_by(sid=events[0][1]["CallSid"]).one()
    return {
        "status": call.status,
        "started_at": call.started_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "duration": call.duration,
        "recording_url": call.recording_url,
        "recording_duration": call.recording_duration,
        "from": call.from_number,
        "to": call.to_number,
    }


def fresh_sid() -> str:
    return f"CA{next(_sids):032x}"


def record_without_sid(record: dict[str, object]) -> dict[str, object]:
    url = record["recording_url"]
    return {**record, "recording_url": bool(url)}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    outcome=st.sampled_from(OUTCOMES),
    data=st.data(),
)
def test_shuffled_and_duplicated_events_give_one_final_record(session, outcome, data) -> None:
    in_order_sid, shuffled_sid = fresh_sid(), fresh_sid()
    expected = apply(session, call_events(in_order_sid, outcome))
    events = call_events(shuffled_sid, outcome)
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=6), label="duplicates")
    chaos = data.draw(st.permutations(events + duplicates), label="delivery order")
    got = apply(session, chaos)
    assert record_without_sid(got) == record_without_sid(expected)
    assert got["status"] == CallStatus(outcome)


def test_terminal_state_never_goes_back_to_live(session) -> None:
    sid = fresh_sid()
    events = call_events(sid, "completed")
    final = apply(session, events)
    again = apply(session, [events[1], events[0]])  # late ringing and initiated
    assert again == final
    assert final["status"] == CallStatus.COMPLETED
    assert final["duration"] == 47
    assert final["answered_at"] == T0 + dt.timedelta(seconds=6)
