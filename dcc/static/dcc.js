/* DCC agent desk: the live connection (server-sent events), the call panel and small helpers.
   Plain browser JavaScript, no build step. */
(function () {
  "use strict";
  var body = document.body;
  var labelsNode = document.getElementById("dcc-labels");
  var L = labelsNode ? JSON.parse(labelsNode.textContent) : {};
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content;

  function label(table, code) { return (L[table] && L[table][code]) || code || "—"; }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* --- toasts: notifications on every page --- */
  function toast(note) {
    var box = el("div", "toast " + (note.kind || ""));
    box.dataset.kind = note.kind || "";
    box.appendChild(el("b", "", label("notification", note.kind)));
    /* Who and what: the customer's name and model when the note names them (in the data,
       so the words around them are the page's language), else the note's own title. */
    var data = note.data || {};
    var who = [data.name, data.model].filter(function (v) { return v; }).join(" · ");
    /* The stored title is the dealership's Chinese wording: a Chinese page shows it; another
       language's page says the kind (its label) and who. */
    var chinese = (document.documentElement.lang || "").indexOf("zh") === 0;
    var text = who;
    if (chinese && note.title) {
      text = note.title;
      if (who && (!data.name || note.title.indexOf(data.name) < 0)) text += " · " + who;
    }
    box.appendChild(el("span", "toast-title", text ? " " + text : ""));
    /* An arrival's lead is usually the DCC agent's, which the consultant cannot open. */
    if (note.lead_id && note.kind !== "arrival") {
      var link = el("a", "", " →");
      link.href = "/leads/" + note.lead_id;
      box.appendChild(link);
    }
    document.getElementById("toasts").appendChild(box);
    setTimeout(function () { box.remove(); }, 20000);
    box.addEventListener("click", function (e) { if (e.target.tagName !== "A") box.remove(); });
  }

  /* --- the call panel --- */
  var pop = document.getElementById("pop");

  function openPanel(callId) {
    return fetch("/calls/" + callId + "/panel", { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) { pop.innerHTML = html; pop.classList.add("open"); bindPanel(pop); });
  }

  function bindPanel(root) {
    root.querySelectorAll("[data-close-pop]").forEach(function (b) {
      b.addEventListener("click", function () { pop.classList.remove("open"); });
    });
    root.querySelectorAll(".script").forEach(bindScript);
    root.querySelectorAll("form.outcome").forEach(bindOutcome);
    root.querySelectorAll("form.capture").forEach(bindCapture);
  }

  /* The script's questions: saved at once, and the panel (script included) comes back
     filled with the answers; a refusal comes back with what was typed. */
  function bindCapture(form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      fetch(form.action, {
        method: "POST", credentials: "same-origin",
        headers: { "X-DCC-Fragment": "panel", "X-CSRFToken": csrf },
        body: new FormData(form)
      }).then(function (r) { return r.text(); }).then(function (html) {
        pop.innerHTML = html; pop.classList.add("open"); bindPanel(pop);
      });
    });
  }

  function bindScript(section) {
    section.querySelectorAll("input[data-step]").forEach(function (box) {
      box.addEventListener("change", function () {
        if (!box.checked) return; /* the furthest step reached is what counts */
        var step = parseInt(box.dataset.step, 10);
        section.querySelectorAll("input[data-step]").forEach(function (other) {
          if (parseInt(other.dataset.step, 10) <= step) {
            other.checked = true;
            other.closest("li").classList.add("done");
          }
        });
        fetch(section.dataset.stepUrl, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
          body: JSON.stringify({ step: step })
        }).then(function (r) { return r.json(); }).then(function (data) {
          if (data.script_step) {
            section.dataset.reached = data.script_step;
            section.querySelector(".reached b").textContent = data.script_step;
          }
        });
      });
    });
  }

  function bindOutcome(form) {
    var days = JSON.parse(form.dataset.ruleDays || "{}");
    var next = form.querySelector('[name="next_due_at"]');
    var custom = form.querySelector('[name="next_due_custom"]');
    var edited = false;
    if (next) next.addEventListener("input", function () {
      edited = true;
      if (custom) custom.value = "1";
    });
    var grade = form.querySelector('[name="grade"]');
    if (grade && next) grade.addEventListener("change", function () {
      /* the rule's default follows the grade until the agent sets a date of their own */
      var d = days[grade.value];
      if (edited || d === null || d === undefined) return;
      var when = new Date(Date.now() + d * 86400000);
      var pad = function (n) { return String(n).padStart(2, "0"); };
      next.value = when.getFullYear() + "-" + pad(when.getMonth() + 1) + "-" + pad(when.getDate()) +
        "T" + pad(when.getHours()) + ":" + pad(when.getMinutes());
    });
    function sync() {
      var chosen = form.querySelector('[name="action"]:checked');
      form.dataset.action = chosen ? chosen.value : "none";
    }
    form.querySelectorAll('[name="action"]').forEach(function (r) { r.addEventListener("change", sync); });
    sync();
  }


  function showMyStatus(data) {
    /* The server says the agent's status as it changes (on call, wrap-up and its end, a
       status set in another tab): the badge, the buttons and the wrap-up countdown follow. */
    var badge = document.getElementById("my-status");
    if (!badge) return;
    badge.dataset.status = data.status;
    badge.textContent = label("agent_status", data.status);
    document.querySelectorAll(".statusbar .status-btn[value]").forEach(function (b) {
      b.classList.toggle("current", b.value === data.status);
    });
    var wrap = document.getElementById("wrap-up");
    if (wrap) {
      wrap.dataset.until = data.wrap_up_until || "";
      wrap.hidden = !data.wrap_up_until;
      countdown();
    }
  }

  function countdown() {
    var wrap = document.getElementById("wrap-up");
    if (!wrap || !wrap.dataset.until) return;
    var left = Math.max(0, Math.round((Date.parse(wrap.dataset.until) - Date.now()) / 1000));
    wrap.querySelector(".countdown").textContent =
      Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
  }
  setInterval(countdown, 1000);
  countdown();

  /* --- the live worklist: the server renders it; new work swaps it in without a reload --- */
  var refreshing = null;
  function refreshWork() {
    var work = document.getElementById("work");
    if (!work || refreshing) return;
    refreshing = fetch(window.location.pathname + window.location.search, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("work");
        if (fresh) { work.innerHTML = fresh.innerHTML; tick(); }
      })
      .catch(function () {})
      .then(function () { refreshing = null; });
  }
  var TERMINAL = ["completed", "busy", "failed", "no-answer", "canceled"];
  var WORK_KINDS = ["new_lead", "callback_due", "callback_open", "follow_up_due",
    "follow_up_overdue", "lead_reopened", "no_show", "unreachable"];

  function showCall(data) {
    if (TERMINAL.indexOf(data.status) >= 0 && (data.leg === "agent" || data.direction === "inbound")) {
      /* "Calling…" is over; the call now waits for its outcome on the worklist. */
      document.querySelectorAll(".flash.calling").forEach(function (f) { f.remove(); });
      setTimeout(refreshWork, 500);
    }
    document.querySelectorAll(".call-panel").forEach(function (p) {
      var mine = String(data.call_id) === p.dataset.callId ||
        (data.lead_id && String(data.lead_id) === p.dataset.leadId);
      if (!mine) return;
      var cell = p.querySelector('.leg[data-leg="' + data.leg + '"] b');
      if (cell) { cell.textContent = label("call_status", data.status); cell.dataset.status = data.status; }
    });
    document.querySelectorAll('tr[data-call-id="' + data.call_id + '"] .call-status').forEach(function (c) {
      c.textContent = label("call_status", data.status);
    });
  }

  function showWallboard(data) {
    var table = document.querySelector("#wallboard tbody");
    if (!table) return;
    var empty = document.getElementById("wallboard-empty");
    if (empty) empty.remove();
    var row = table.querySelector('tr[data-call-id="' + data.call_id + '"]') || el("tr");
    row.dataset.callId = data.call_id;
    row.innerHTML = "";
    row.appendChild(el("td", "", "#" + data.call_id));
    row.appendChild(el("td", "", label("leg", data.leg)));
    row.appendChild(el("td", "", label("call_status", data.status)));
    table.prepend(row);
    while (table.rows.length > 12) table.deleteRow(-1);
  }

  /* --- the live connection --- */
  /* The browser reconnects a dropped stream by itself. A stream the server refuses (Redis is
     away: 503; this user has too many pages open: 429) closes for good, so the page says
     live updates are paused and tries again later, waiting longer each time. */
  var FIRST_RETRY = 2, LAST_RETRY = 60;
  var retryIn = 0, source = null;
  var liveStatus = document.getElementById("live-status");

  function showLive(state, seconds) {
    body.dataset.stream = state;
    if (!liveStatus) return;
    liveStatus.hidden = state !== "paused";
    if (state === "paused") liveStatus.textContent = liveStatus.dataset.paused.replace("{s}", seconds);
  }

  function retryLater() {
    retryIn = Math.min(retryIn ? retryIn * 2 : FIRST_RETRY, LAST_RETRY);
    showLive("paused", retryIn);
    setTimeout(connect, (retryIn + Math.random()) * 1000);
  }

  function connect() {
    var url = body.dataset.streamUrl;
    if (!url || !window.EventSource) return;
    source = new EventSource(url);
    source.addEventListener("ready", function () { retryIn = 0; showLive("open"); });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) retryLater();
      else showLive("closed");
    });
    source.addEventListener("notification", function (e) {
      var note = JSON.parse(e.data);
      toast(note);
      if (WORK_KINDS.indexOf(note.kind) >= 0) refreshWork();
    });
    /* Pages with live figures (the wallboard) take them from here: one connection per tab. */
    source.addEventListener("wallboard", function (e) {
      document.dispatchEvent(new CustomEvent("dcc:wallboard", { detail: JSON.parse(e.data) }));
    });
    source.addEventListener("agent_status", function (e) { showMyStatus(JSON.parse(e.data)); });
    source.addEventListener("screen_pop", function (e) {
      var data = JSON.parse(e.data);
      openPanel(data.call_id).catch(function () {});
    });
    source.addEventListener("call", function (e) {
      var data = JSON.parse(e.data);
      if (data.agent_id !== undefined) showWallboard(data);
      if (String(data.agent_id || body.dataset.userId) === body.dataset.userId) showCall(data);
    });
  }
  window.addEventListener("beforeunload", function () { if (source) source.close(); });

  /* --- speed-to-lead timers --- */
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".timer[data-since]").forEach(function (t) {
      var secs = Math.max(0, Math.floor((now - Date.parse(t.dataset.since)) / 1000));
      var m = Math.floor(secs / 60), s = secs % 60;
      t.textContent = (m >= 60 ? Math.floor(m / 60) + ":" + String(m % 60).padStart(2, "0") : m) +
        ":" + String(s).padStart(2, "0");
      var late = secs > parseInt(t.dataset.sla || "300", 10);
      t.classList.toggle("late", late);
      var row = t.closest("tr"); if (row) row.classList.toggle("late", late);
    });
  }

  /* Forms that ask first (data-confirm): no inline handlers, so the page's CSP allows it. */
  document.addEventListener("submit", function (e) {
    var question = e.target.dataset && e.target.dataset.confirm;
    if (question && !window.confirm(question)) e.preventDefault();
  }, true);

  bindPanel(document);
  tick(); setInterval(tick, 1000);
  connect();
})();
