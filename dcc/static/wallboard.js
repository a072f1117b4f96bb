/* The live wallboard: draws each snapshot the page's stream relays (see dcc.js, "dcc:wallboard").
   Nothing is fetched: the server publishes one snapshot a second for every open wallboard. */
(function () {
  "use strict";
  var board = document.getElementById("wallboard");
  if (!board) return;
  var L = JSON.parse(document.getElementById("wb-labels").textContent);
  var common = JSON.parse((document.getElementById("dcc-labels") || {}).textContent || "{}");
  var BUCKETS = ["<1m", "1-5m", "5-30m", ">30m", "waiting"];
  var lastAt = 0;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function set(id, text) { document.getElementById(id).textContent = text; }

  function duration(seconds) {
    seconds = Math.max(0, Math.round(seconds || 0));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = String(m).padStart(h ? 2 : 1, "0") + ":" + String(s).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  }

  /* The dealer's wall clock, whatever the PC's own time zone is. */
  function localTime(iso) {
    var when = new Date(iso);
    try {
      return when.toLocaleTimeString("zh-CN", { timeZone: board.dataset.timezone, hour12: false });
    } catch (e) {
      return when.toLocaleTimeString();
    }
  }

  function statusLabel(code) {
    return (common.agent_status && common.agent_status[code]) || code;
  }

  function agentRow(agent) {
    var row = el("tr", agent.call_id ? "talking" : "");
    row.dataset.agentId = agent.id;
    var who = el("td", "who", agent.name);
    who.appendChild(el("small", "", (common.role || {})[agent.role] || agent.role));
    row.appendChild(who);
    var status = el("td", "status");
    var badge = el("span", "wb-status " + agent.status, statusLabel(agent.status));
    status.dataset.status = agent.status;
    status.appendChild(badge);
    if (agent.next_in_line) {
      row.classList.add("ready");
      status.appendChild(el("small", "next", L.next.replace("{n}", agent.next_in_line)));
    }
    row.appendChild(status);
    var call = el("td", "call", agent.call_id ? L.talking : "—");
    call.dataset.callId = agent.call_id || "";
    row.appendChild(call);
    [["calls", agent.calls], ["connects", agent.connects], ["talk", duration(agent.talk_seconds)],
     ["appointments", agent.appointments], ["arrivals", agent.arrivals]].forEach(function (pair) {
      row.appendChild(el("td", "num " + pair[0], pair[1]));
    });
    return row;
  }

  function speed(buckets) {
    var bar = document.getElementById("wb-speed");
    var legend = document.getElementById("wb-speed-legend");
    bar.innerHTML = ""; legend.innerHTML = "";
    var total = BUCKETS.reduce(function (n, b) { return n + (buckets[b] || 0); }, 0);
    BUCKETS.forEach(function (name, i) {
      var count = buckets[name] || 0;
      if (total && count) {
        var part = el("span", "seg s" + i, count);
        part.style.flexGrow = count;
        part.title = L.buckets[name] + ": " + count;
        bar.appendChild(part);
      }
      var item = el("li", "s" + i);
      item.dataset.bucket = name;
      item.appendChild(el("i"));
      item.appendChild(document.createTextNode(L.buckets[name] + " "));
      item.appendChild(el("b", "", count));
      legend.appendChild(item);
    });
  }

  function draw(snap) {
    lastAt = Date.now();
    board.dataset.state = "live";
    set("wb-updated", localTime(snap.generated_at));
    set("wb-calls", snap.calls_in_progress);
    set("wb-ready", (snap.ready || []).length);
    set("wb-queue", snap.queue.length);
    set("wb-wait", duration(snap.queue.longest_wait_seconds));
    set("wb-leads", snap.leads_today);
    set("wb-breaches", snap.sla_breaches);
    document.getElementById("wb-breaches-tile").classList.toggle("bad", snap.sla_breaches > 0);
    document.getElementById("wb-queue").parentNode.classList.toggle("warn", snap.queue.length > 0);
    speed(snap.speed_to_lead || {});
    var body = document.querySelector("#wb-agents tbody");
    body.innerHTML = "";
    snap.agents.forEach(function (agent) { body.appendChild(agentRow(agent)); });
    var waiting = document.getElementById("wb-waiting");
    waiting.textContent = snap.agents.length ? "" : L.none;
    waiting.hidden = !!snap.agents.length;
  }

  document.addEventListener("dcc:wallboard", function (e) { draw(e.detail); });

  /* Figures older than a few seconds are marked stale: the wall must not show old news. */
  setInterval(function () {
    if (lastAt && Date.now() - lastAt > 5000) board.dataset.state = "stale";
  }, 1000);

  document.getElementById("wb-fullscreen").addEventListener("click", function () {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (board.requestFullscreen) board.requestFullscreen();
  });
})();
