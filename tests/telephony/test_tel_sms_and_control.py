"""SMS, the /sim control endpoints, REST refusals, and the command-line simulator."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from telephony.simulator import Simulator

HOTLINE = "+864008123123"
CUSTOMER = "+8613800138000"


def test_sms_is_sent_then_delivered(sim, telephony, app_server):
    sid = telephony.send_sms(
        to=CUSTOMER,
        from_=HOTLINE,
        body="您的试驾预约：明天 10:00",
        status_callback=app_server.url("sms/status"),
    )
    sim.wait_idle(5)
    assert sid.startswith("SM") and len(sid) == 34
    updates = app_server.received("sms/status")
    assert [u["MessageStatus"] for u in updates] == ["sent", "delivered"]
    assert all(u["MessageSid"] == sid and u["To"] == CUSTOMER for u in updates)
    (message,) = sim.messages()
    assert message["body"] == "您的试驾预约：明天 10:00" and message["status"] == "delivered"
    assert telephony.client.messages(sid).fetch().status == "delivered"


def test_sms_to_a_failing_number(sim, telephony, app_server):
    sim.set_behaviour(CUSTOMER, sms_fail=True)
    telephony.send_sms(
        to=CUSTOMER, from_=HOTLINE, body="x", status_callback=app_server.url("sms/status")
    )
    sim.wait_idle(5)
    last = app_server.received("sms/status")[-1]
    assert last["MessageStatus"] == "undelivered" and last["ErrorCode"] == "30003"


def test_sim_http_endpoints(sim, app_server):
    base = sim.base_url
    app_server.answers["voice/inbound"] = "<Response><Hangup/></Response>"
    ok = requests.post(
        f"{base}/sim/behaviour", json={"number": CUSTOMER, "behaviour": {"busy": True}}, timeout=5
    )
    assert ok.status_code == 200 and ok.json()["behaviour"]["busy"] is True
    bad = requests.post(
        f"{base}/sim/behaviour", json={"number": CUSTOMER, "behaviour": {"bussy": True}}, timeout=5
    )
    assert bad.status_code == 400
    assert requests.get(f"{base}/sim/behaviour", timeout=5).json()["numbers"][CUSTOMER]["busy"]
    created = requests.post(
        f"{base}/sim/inbound", json={"from": CUSTOMER, "to": HOTLINE}, timeout=5
    )
    assert created.status_code == 201
    idle = requests.post(f"{base}/sim/wait-idle", json={"timeout": 5}, timeout=10)
    assert idle.json() == {"idle": True}
    calls = requests.get(f"{base}/sim/calls", timeout=5).json()
    assert [c["sid"] for c in calls] == [created.json()["sid"]]
    assert calls[0]["direction"] == "inbound" and calls[0]["status"] == "completed"
    hooks = requests.get(f"{base}/sim/webhooks", params={"kind": "incoming"}, timeout=5).json()
    assert len(hooks) == 1 and hooks[0]["status"] == 200 and hooks[0]["params"]["From"] == CUSTOMER
    assert requests.get(f"{base}/sim/messages", timeout=5).json() == []
    assert requests.post(f"{base}/sim/reset", timeout=10).json() == {"reset": True}
    assert sim.calls() == [] and sim.webhooks() == []
    assert requests.get(f"{base}/sim/behaviour", timeout=5).json()["numbers"] == {}


def test_rest_refusals_look_like_twilio(sim):
    url = f"{sim.base_url}/2010-04-01/Accounts/{sim.config.account_sid}/Calls.json"
    auth = (sim.config.account_sid, sim.config.auth_token)
    missing_url = requests.post(url, data={"To": CUSTOMER, "From": HOTLINE}, auth=auth, timeout=5)
    assert missing_url.status_code == 400 and missing_url.json()["code"] == 21205
    no_auth = requests.post(url, data={"To": CUSTOMER}, timeout=5)
    assert no_auth.status_code == 401 and no_auth.json()["code"] == 20003
    other_account = url.replace(sim.config.account_sid, "AC" + "f" * 32)
    foreign = requests.post(other_account, data={}, auth=auth, timeout=5)
    assert foreign.status_code == 404 and foreign.json()["code"] == 20404


def test_failed_webhooks_are_retried_and_recorded(app_server):
    simulator = Simulator(account_sid="AC" + "0" * 32, auth_token="t", speed=0.005)
    simulator.start()
    try:
        # Nothing listens on port 9: every attempt fails, the call still plays out.
        sid = simulator.originate_inbound(CUSTOMER, HOTLINE, voice_url="http://127.0.0.1:9/v")
        simulator.wait_idle(5)
        (hook,) = simulator.webhooks(call_sid=sid)
        assert hook["status"] is None and hook["attempts"] == 3 and hook["error"]
        assert simulator.call(sid)["status"] == "failed"
    finally:
        simulator.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_command_line_simulator(tmp_path: Path):
    port = _free_port()
    behaviours = tmp_path / "behaviours.json"
    behaviours.write_text('{"+8613800138000": {"busy": true}}', encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "telephony.simulator",
            "--port",
            str(port),
            "--account-sid",
            "AC" + "1" * 32,
            "--auth-token",
            "cli-token",
            "--speed",
            "0.01",
            "--behaviours",
            str(behaviours),
            "--hotline",
            "+864008123123",
            "--client",
            "alice",
            "--geo-block",
            "+1,+44",
            "--calls-per-second",
            "2",
            "--log-level",
            "WARNING",
        ],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                state = requests.get(f"{base}/sim/behaviour", timeout=1).json()
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)
        assert state["numbers"][CUSTOMER]["busy"] is True
        account = requests.get(f"{base}/sim/account", timeout=5).json()
        assert [n["number"] for n in account["numbers"]] == [HOTLINE]
        assert account["clients"] == ["alice"] and account["geo_blocked"] == ["+1", "+44"]
        assert account["calls_per_second"] == 2
    finally:
        process.terminate()
        process.wait(timeout=10)
