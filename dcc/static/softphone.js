"use strict";
// The browser softphone. With a Twilio API key configured, the hotline and the agent leg of
// click-to-dial ring an agent at client:<identity> instead of the phone on record: this page
// is that phone. It registers a Twilio Voice Device with a token from the app, rings on an
// incoming call, and lets the agent answer, decline, mute and hang up. The screen pop of the
// caller's lead still comes from the app's own stream (dcc.js), whichever phone rings.
(function () {
  const panel = document.getElementById("softphone");
  if (!panel) return;
  const status = panel.querySelector(".sp-status");
  const caller = panel.querySelector(".sp-caller");
  const text = panel.dataset; // the labels, in the reader's language
  let device = null;
  let call = null;

  function say(state, detail) {
    panel.dataset.state = state;
    status.textContent = detail ? `${text[state]} (${detail})` : text[state];
  }

  function offer(...actions) {
    for (const button of panel.querySelectorAll("button[data-action]")) {
      button.hidden = !actions.includes(button.dataset.action);
    }
  }

  function idle() {
    call = null;
    caller.textContent = "";
    offer();
    say(device && device.state === "registered" ? "ready" : "offline");
  }

  function ringing(incoming) {
    call = incoming;
    caller.textContent = incoming.parameters.From || "";
    offer("answer", "decline");
    say("ringing");
    incoming.on("accept", () => {
      offer("mute", "hangup");
      say("talking");
    });
    for (const end of ["cancel", "disconnect", "reject", "error"]) incoming.on(end, idle);
  }

  async function token() {
    const answer = await fetch(panel.dataset.tokenUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const body = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error((body.error && body.error.message) || `HTTP ${answer.status}`);
    return body.token;
  }

  panel.addEventListener("click", (event) => {
    const action = event.target.dataset && event.target.dataset.action;
    if (!action || !call) return;
    if (action === "answer") call.accept();
    else if (action === "decline") call.reject();
    else if (action === "hangup") call.disconnect();
    else if (action === "mute") {
      call.mute(!call.isMuted());
      event.target.textContent = call.isMuted() ? text.unmute : text.mute;
    }
  });

  async function start() {
    if (!window.Twilio || !window.Twilio.Device) {
      say("failed", "Twilio Voice SDK");
      return;
    }
    try {
      // closeProtection: leaving the page in the middle of a call asks first.
      device = new window.Twilio.Device(await token(), { closeProtection: true });
      // Registration can change under a call (a network blip): the call's controls stay.
      const registration = () => call || idle();
      device.on("registered", registration);
      device.on("unregistered", registration);
      device.on("incoming", ringing);
      device.on("error", (error) => say("failed", error.code || error.message));
      device.on("tokenWillExpire", async () => {
        try {
          device.updateToken(await token());
        } catch (error) {
          say("failed", error.message);
        }
      });
      await device.register();
    } catch (error) {
      say("failed", error.message);
    }
  }

  start();
})();
