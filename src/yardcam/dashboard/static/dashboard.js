// The cam dashboard: live figures over Server-Sent Events, the threshold form over fetch.
// Served as a file (the CSP allows no inline script); no libraries.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const clock = (ts) => new Date(ts * 1000).toLocaleTimeString();
  const text = (id, value) => { $(id).textContent = value === null || value === undefined ? "–" : value; };
  let unlit = null;

  function showState(s) {
    text("source-state", s.source.state);
    text("last-change", s.last_change.toFixed(1));
    $("change-meter").value = s.last_change;
    text("threshold-now", s.threshold);
    if (document.activeElement !== $("threshold")) $("threshold").value = s.threshold;
    text("frame-count", s.frame_count);
    text("trigger-count", s.trigger_count);
    text("last-motion", s.last_motion ? `${clock(s.last_motion.ts)} (change ${s.last_motion.change.toFixed(1)})` : null);
    const a = s.archive;
    text("archive-state", a ? a.state : "not configured");
    text("archive-pending", a ? a.pending : null);
    text("archive-sent", a ? a.sent : null);
    text("archive-dead", a ? a.dead_lettered : null);
    text("archive-error", a ? a.last_error : null);
  }

  function showMotion(m) {
    const box = $("motion");
    box.classList.add("lit");
    text("motion-text", `Motion at ${clock(m.ts)} (change ${m.change.toFixed(1)})`);
    text("trigger-count", m.count);
    text("last-motion", `${clock(m.ts)} (change ${m.change.toFixed(1)})`);
    $("last-trigger").src = `/motion.jpg?n=${m.count}`;
    $("last-trigger").hidden = false;
    const item = document.createElement("li");
    item.textContent = `${clock(m.ts)} · change ${m.change.toFixed(1)}`;
    $("recent").prepend(item);
    while ($("recent").children.length > 10) $("recent").lastElementChild.remove();
    clearTimeout(unlit);
    unlit = setTimeout(() => box.classList.remove("lit"), 2000);
  }

  function connect() {
    const events = new EventSource("/events");
    events.addEventListener("state", (e) => { showState(JSON.parse(e.data)); text("link-state", "Live"); });
    events.addEventListener("motion", (e) => showMotion(JSON.parse(e.data)));
    events.onerror = async () => {
      text("link-state", "Connection lost; reconnecting…");
      if (events.readyState !== EventSource.CLOSED) return;  // the browser retries by itself
      // EventSource gives up for good on an HTTP error: usually an expired session.
      try {
        const probe = await fetch("/status");
        if (probe.status === 401) { window.location.assign("/login?next=/"); return; }
      } catch (err) { /* the cam is unreachable: try again below */ }
      setTimeout(connect, 5000);
    };
  }
  connect();

  // The preview reconnects by itself when the stream drops (restart, network blip).
  $("preview").addEventListener("error", () => {
    setTimeout(() => { $("preview").src = `/stream.jpg?t=${Date.now()}`; }, 2000);
  });

  $("threshold-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    text("threshold-error", "");
    const value = Number($("threshold").value);
    const response = await fetch("/config", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ threshold: value }),
    });
    const body = await response.json();
    if (!response.ok) { text("threshold-error", body.error); return; }
    text("threshold-now", body.threshold);
    $("threshold").blur();
  });
})();
