"""The browser softphone in a real browser: with a Twilio API key the hotline rings agents at
``client:<identity>``, so the agent's page must register that identity and answer.

Twilio's Device talks to Twilio's servers, which a test cannot reach: a stand-in Device,
defined before the page loads (the vendored SDK keeps a ``Twilio.Device`` that is already
there), records what the page does with it and plays the incoming calls.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from web_support import available_agent, sign_in

from dcc.calls.routing import client_identity

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect

STAND_IN_DEVICE = """
class Emitter {
  constructor() { this.handlers = {}; }
  on(event, handler) {
    (this.handlers[event] = this.handlers[event] || []).push(handler);
    return this;
  }
  emit(event, ...args) { for (const handler of this.handlers[event] || []) handler(...args); }
}
class StandInCall extends Emitter {
  constructor(from) {
    super();
    Object.assign(this, { parameters: { From: from }, muted: false, done: [] });
  }
  accept() { this.done.push("accept"); this.emit("accept", this); }
  reject() { this.done.push("reject"); this.emit("reject"); }
  disconnect() { this.done.push("disconnect"); this.emit("disconnect", this); }
  mute(on) { this.muted = on; this.done.push(on ? "mute" : "unmute"); }
  isMuted() { return this.muted; }
}
class StandInDevice extends Emitter {
  constructor(token, options) {
    super();
    Object.assign(this, { token, options, state: "unregistered", calls: [] });
    window.device = this;
  }
  async register() { this.state = "registered"; this.emit("registered"); }
  updateToken(token) { this.token = token; }
  ring(from) {
    const call = new StandInCall(from);
    this.calls.push(call);
    this.emit("incoming", call);
  }
}
window.Twilio = { Device: StandInDevice };
"""


def _softphone_on(live: Any, secret: str = "k" * 32) -> str:
    """An API key (with ``secret``) as the dealer configures it, and the agent to ring; returns
    the agent's client identity."""
    settings = live.app.extensions["dcc.settings"]
    live.app.extensions["dcc.settings"] = dataclasses.replace(
        settings, twilio_api_key_sid="SK" + "1" * 32, twilio_api_key_secret=secret
    )
    with live.session() as session:
        agent = available_agent(session)
        session.commit()
        return client_identity(agent)


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_the_agent_page_registers_rings_answers_mutes_and_hangs_up(
    open_page, live, artifacts
) -> None:
    identity = _softphone_on(live)
    page = sign_in(open_page("/login", init_script=STAND_IN_DEVICE), "agent")
    phone = page.locator("#softphone")
    status, caller = phone.locator(".sp-status"), phone.locator(".sp-caller")
    expect(status).to_have_text("软电话就绪", timeout=10_000)

    # The Device got the app's token for the identity the hotline rings.
    token = page.evaluate("window.device.token")
    claims = _claims(token)
    assert claims["grants"]["identity"] == identity
    assert claims["grants"]["voice"]["incoming"]["allow"] is True
    assert page.evaluate("window.device.options.closeProtection") is True

    page.evaluate("window.device.ring('+8613800138000')")
    expect(status).to_have_text("来电")
    expect(caller).to_have_text("+8613800138000")
    expect(phone.locator("[data-action=answer]")).to_be_visible()
    expect(phone.locator("[data-action=decline]")).to_be_visible()
    expect(phone.locator("[data-action=hangup]")).to_be_hidden()
    page.screenshot(path=str(artifacts / "ringing.png"))

    phone.locator("[data-action=answer]").click()
    expect(status).to_have_text("通话中")
    page.evaluate("window.device.emit('registered')")  # registered again under the call
    expect(status).to_have_text("通话中")
    expect(phone.locator("[data-action=hangup]")).to_be_visible()
    phone.locator("[data-action=mute]").click()
    expect(phone.locator("[data-action=mute]")).to_have_text("取消静音")
    phone.locator("[data-action=hangup]").click()
    expect(status).to_have_text("软电话就绪")
    expect(caller).to_have_text("")
    assert page.evaluate("window.device.calls[0].done") == ["accept", "mute", "disconnect"]

    page.evaluate("window.device.ring('+8613900139000')")
    phone.locator("[data-action=decline]").click()
    expect(status).to_have_text("软电话就绪")
    assert page.evaluate("window.device.calls[1].done") == ["reject"]


def test_a_softphone_without_its_secret_says_it_is_unavailable(open_page, live) -> None:
    _softphone_on(live, secret="")
    page = sign_in(open_page("/login", init_script=STAND_IN_DEVICE), "agent")
    status = page.locator("#softphone .sp-status")
    expect(status).to_contain_text("软电话不可用", timeout=10_000)
    expect(status).to_contain_text("DCC_TWILIO_API_KEY_SECRET")
