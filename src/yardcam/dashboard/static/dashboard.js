// The cam dashboard: live figures over Server-Sent Events, commands over the /control
// WebSocket, a plot of change against the threshold. Served as a file (the CSP allows no
// inline script); no libraries. Times: window.yardcamTime (/_web/time.js), one format everywhere.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const dash = $("dash");
  const initial = JSON.parse(dash.dataset.initial);
  const prefix = initial.prefix;
  const camera = initial.camera;
  const gallery = initial.gallery;
  const when = (ts) => window.yardcamTime.format(ts);
  const text = (id, value) => { $(id).textContent = value === null || value === undefined ? "–" : value; };
  const HISTORY = 60;  // seconds on the plot
  const RECENT = 10;  // event rows shown (the server keeps more: its /status lists 20)
  let samples = (initial.history || []).map(([ts, change]) => ({ ts, change }));
  let threshold = initial.threshold;
  let online = false;
  let unlit = null;

  // -- camera state --------------------------------------------------------------------------
  function showSource(source) {
    online = Boolean(source.online);
    const banner = $("offline");
    banner.hidden = online;
    dash.querySelector(".preview").classList.toggle("is-offline", !online);
    if (!online) {
      text("offline-since", when(source.since));
      const reason = source.state.replace(/^retrying: /, "");
      const retry = source.retrying ? `${reason} · ${source.failures} failed attempts, retrying` : source.state;
      text("offline-state", `· ${retry}`);
    }
    showLive();
  }

  function showLive() {
    // "Live" only when frames really arrive and the picture shows one: never over a black box.
    const label = $("live-label");
    const showing = $("preview").naturalWidth > 0;
    label.textContent = online ? (showing ? "Live" : "Connecting…") : "Offline";
    label.className = "badge" + (online && showing ? " live" : online ? "" : " down");
  }

  function showState(s) {
    showSource(s.source);
    text("last-change", s.change.toFixed(1));
    $("change-meter").value = s.change;
    showThreshold(s.threshold);
    text("frame-count", s.frames);
    text("trigger-count", s.triggers);
    if (s.last_motion) {
      const last = `${when(s.last_motion.ts)} (change ${Number(s.last_motion.change).toFixed(1)})`;
      text("last-motion", last);
      if (!$("motion").classList.contains("lit")) text("motion-text", `Last motion ${when(s.last_motion.ts)}`);
    }
    const a = s.archive;
    text("archive-state", a ? a.state : "not configured");
    text("archive-pending", a ? a.pending : null);
    text("archive-sent", a ? a.sent : null);
    text("archive-dead", a ? a.dead_lettered : null);
    text("archive-error", a ? a.last_error : null);
    for (const c of s.cameras || []) {
      const tile = dash.querySelector(`.tile[data-camera="${CSS.escape(c.camera)}"]`);
      if (!tile) continue;
      tile.classList.toggle("offline", !c.source.online);
      tile.querySelector(".tile-state").textContent = c.source.online ? `${c.triggers} triggers` : "offline";
    }
    addSample(s.now, s.change);
  }

  function showThreshold(value) {
    threshold = value;
    text("threshold-now", value);
    if (document.activeElement !== $("threshold")) {
      $("threshold").value = value;
      text("threshold-value", value);
    }
    $("plot").dataset.threshold = value;
    draw();
  }

  // -- the plot ------------------------------------------------------------------------------
  function addSample(ts, change) {
    samples.push({ ts, change });
    const from = ts - HISTORY;
    while (samples.length && samples[0].ts < from) samples.shift();
    draw();
  }

  function draw() {
    const canvas = $("plot");
    const scale = window.devicePixelRatio || 1;
    const w = canvas.clientWidth * scale, h = canvas.clientHeight * scale;
    if (!w || !h) return;
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, w, h);
    const now = samples.length ? samples[samples.length - 1].ts : Date.now() / 1000;
    const x = (ts) => w - ((now - ts) / HISTORY) * w;
    const top = Math.max(100 / 2, threshold * 1.5, ...samples.map((p) => p.change)) || 100;
    const y = (v) => h - (Math.min(v, top) / top) * (h - 6 * scale) - 3 * scale;
    g.strokeStyle = "#ff5a4f"; g.lineWidth = 1.5 * scale; g.setLineDash([6 * scale, 4 * scale]);
    g.beginPath(); g.moveTo(0, y(threshold)); g.lineTo(w, y(threshold)); g.stroke();
    g.setLineDash([]); g.strokeStyle = "#4fb3ff"; g.lineWidth = 2 * scale;
    g.beginPath();
    samples.forEach((p, i) => (i ? g.lineTo(x(p.ts), y(p.change)) : g.moveTo(x(p.ts), y(p.change))));
    g.stroke();
    canvas.dataset.samples = samples.length;
  }

  // -- motion and its events -----------------------------------------------------------------
  function light(message) {
    $("motion").classList.add("lit");
    text("motion-text", message);
    clearTimeout(unlit);
    unlit = setTimeout(() => $("motion").classList.remove("lit"), 2000);
  }

  function showMotion(m) {
    light(`Motion at ${when(m.ts)} (change ${m.change.toFixed(1)})`);
    text("trigger-count", m.count);
    text("last-motion", `${when(m.ts)} (change ${m.change.toFixed(1)})`);
  }

  function showEvent(e) {
    if (e.phase !== "end") light(`Motion since ${when(e.start)} (peak ${e.peak_change.toFixed(1)})`);
    let row = document.getElementById(`event-${e.id}`);
    if (!row) {
      row = document.createElement("li");
      row.id = `event-${e.id}`;
      const img = document.createElement("img");
      img.alt = "The strongest frame of this motion event";
      const what = document.createElement("span");
      what.className = "what";
      row.append(img, what);
      $("recent").prepend(row);
      while ($("recent").children.length > RECENT) $("recent").lastElementChild.remove();
    }
    $("recent-empty").hidden = true;
    row.querySelector("img").src = `${prefix}/motion/${encodeURIComponent(e.id)}.jpg?seq=${e.best_seq}`;
    const what = row.querySelector(".what");
    what.replaceChildren();
    const head = document.createElement(gallery ? "a" : "span");
    head.textContent = when(e.start);
    if (gallery) head.href = `${gallery}/events/${encodeURIComponent(`${e.camera}-${e.id}`)}`;  // its flipbook
    const detail = document.createElement("span");
    detail.className = "muted";
    const running = e.phase === "end" ? "" : " · ongoing";
    // Two counts, named: the gallery shows the archived frames, not every frame in motion.
    detail.textContent = `${e.duration.toFixed(1)} s · peak ${e.peak_change.toFixed(1)} · ${e.frames} in motion, ${e.archived} archived${running}`;
    what.append(head, detail);
  }

  // -- live updates --------------------------------------------------------------------------
  function connect() {
    const events = new EventSource(`${prefix}/events`);
    events.addEventListener("state", (e) => { showState(JSON.parse(e.data)); text("link-state", "Updates: connected"); });
    // The first camera's page listens on /events, which carries every camera's messages
    // (scripts watch them all there): this page shows only its own camera's.
    const mine = (show) => (e) => { const data = JSON.parse(e.data); if (!data.camera || data.camera === camera) show(data); };
    events.addEventListener("motion", mine(showMotion));
    events.addEventListener("event", mine(showEvent));
    events.addEventListener("source", mine(showSource));
    events.onerror = async () => {
      text("link-state", "Updates: connection lost; reconnecting…");
      if (events.readyState !== EventSource.CLOSED) return;  // the browser retries by itself
      // EventSource gives up for good on an HTTP error: usually a session that ended.
      try {
        const probe = await fetch(`${prefix}/status`);
        if (probe.status === 401) { window.location.assign(`/login?next=${encodeURIComponent(location.pathname)}`); return; }
      } catch (err) { /* the cam is unreachable: try again below */ }
      setTimeout(connect, 5000);
    };
  }

  // -- commands over /control ----------------------------------------------------------------
  let socket = null;
  const waiting = [];
  function control() {
    if (socket && socket.readyState <= WebSocket.OPEN) return socket;
    socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${prefix}/control`);
    socket.addEventListener("message", (e) => { const done = waiting.shift(); if (done) done(JSON.parse(e.data)); });
    socket.addEventListener("close", () => { while (waiting.length) waiting.shift()({ ok: false, error: "connection closed" }); });
    return socket;
  }
  function command(body) {
    return new Promise((resolve) => {
      const ws = control();
      waiting.push(resolve);
      const send = () => ws.send(JSON.stringify(body));
      if (ws.readyState === WebSocket.OPEN) send(); else ws.addEventListener("open", send, { once: true });
    });
  }

  $("snapshot-btn").addEventListener("click", async () => {
    const reply = await command({ cmd: "snapshot_now" });
    text("control-result", reply.ok ? `Saved ${reply.path}` : `No snapshot: ${reply.reason || reply.error}`);
  });
  $("reset-btn").addEventListener("click", async () => {
    const reply = await command({ cmd: "reset" });
    if (reply.ok) text("trigger-count", 0);
    text("control-result", reply.ok ? "Trigger counter reset" : reply.error);
  });
  $("threshold").addEventListener("input", () => text("threshold-value", $("threshold").value));
  $("threshold").addEventListener("change", async () => {
    text("threshold-error", "");
    const reply = await command({ cmd: "set_threshold", threshold: Number($("threshold").value) });
    if (!reply.ok) { text("threshold-error", reply.error); return; }
    $("threshold").blur();
    showThreshold(reply.threshold);
  });
  $("threshold-form").addEventListener("submit", (e) => e.preventDefault());

  // -- start ---------------------------------------------------------------------------------
  if (gallery) {
    const link = $("gallery-link");
    link.querySelector("a").href = `${gallery}/cams/${encodeURIComponent(camera)}/events`;
    link.hidden = false;
  }
  // Newest first: only the rows shown, or each hidden one would fetch its thumbnail first.
  (initial.events || []).slice(0, RECENT).reverse().forEach(showEvent);
  $("motion").classList.remove("lit");
  showState(initial);
  const preview = $("preview");
  preview.addEventListener("load", showLive);
  // The preview reconnects by itself when the stream drops (restart, network blip).
  preview.addEventListener("error", () => {
    setTimeout(() => { preview.src = `${prefix}/stream.jpg?t=${Date.now()}`; }, 2000);
  });
  preview.src = `${prefix}/stream.jpg`;
  setInterval(showLive, 1000);
  window.addEventListener("resize", draw);
  connect();
})();
