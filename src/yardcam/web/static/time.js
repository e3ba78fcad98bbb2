// One time format for every yardcam page: the browser's local time, ISO-like, 24 h
// ("2026-12-05 19:48:35"). window.yardcamTime.format(unixSeconds) for scripts; on load, every
// <time datetime="..."> element (the gallery's) is rewritten in that format (data-part="time":
// the time of day only).
"use strict";

(function () {
  const pad = (n) => String(n).padStart(2, "0");
  function format(ts) {
    const d = new Date(ts * 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
           `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  window.yardcamTime = { format };
  document.addEventListener("DOMContentLoaded", () => {
    for (const el of document.querySelectorAll("time[datetime]")) {
      const ms = Date.parse(el.getAttribute("datetime"));
      if (Number.isNaN(ms)) continue;
      const full = format(ms / 1000);
      el.textContent = el.dataset.part === "time" ? full.slice(11) : full;
      el.title = full;
    }
  });
})();
