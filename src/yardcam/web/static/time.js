// One time format for every yardcam page: the browser's local time, ISO-like, 24 h
// ("2026-12-05 19:48:35"). window.yardcamTime.format(unixSeconds) for scripts; on load, every
// <time datetime="..."> element (the gallery's) is rewritten in that format (data-part="time":
// the time of day only).
//
// The browser's zone also goes to the server, as the IANA name in the "tz" cookie, so pages
// laid out by day and hour (the gallery's) use the days and hours shown here. A page that says
// it was laid out in another zone (<meta name="yardcam-tz">: a first visit, a zone changed by
// travel) is loaded once more with the cookie; only when the cookie changed, so a zone the
// server does not know can never loop.
"use strict";

(function () {
  const pad = (n) => String(n).padStart(2, "0");
  function format(ts) {
    const d = new Date(ts * 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
           `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  window.yardcamTime = { format };

  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const cookie = `tz=${zone}`;  // IANA names are plain cookie text: A-Z a-z 0-9 / _ + -
  if (zone && !document.cookie.split("; ").includes(cookie)) {
    const secure = location.protocol === "https:" ? "; secure" : "";
    document.cookie = `${cookie}; path=/; max-age=31536000; samesite=lax${secure}`;
    const laidOut = document.querySelector('meta[name="yardcam-tz"]');
    if (laidOut && laidOut.content !== zone) location.reload();
  }

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
