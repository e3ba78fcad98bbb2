// The event page's flipbook: shows the event's frames (the links of .flipframes, oldest first)
// one after another in #flip-image. Play/pause, step, and keys (space; left/right arrows).
// A file, not an inline script: the gallery's CSP allows scripts from 'self' only. Without
// JavaScript the page still shows the best frame and every frame's thumbnail and link.
"use strict";

(function () {
  document.addEventListener("DOMContentLoaded", () => {
    const book = document.querySelector(".flipbook");
    const links = Array.from(document.querySelectorAll(".flipframes a[data-image]"));
    if (!book || links.length === 0) return;
    const image = document.getElementById("flip-image");
    const play = document.getElementById("flip-play");
    const counter = document.getElementById("flip-counter");
    const link = document.getElementById("flip-link");
    const interval = Number(book.dataset.interval) || 500;
    let index = Math.max(0, links.findIndex((a) => a.hasAttribute("data-best")));
    let timer = null;

    // Fetch every frame once up front, so playing does not stall on the network per frame.
    for (const a of links) new Image().src = a.dataset.image;

    function show(i) {
      index = (i + links.length) % links.length;
      const a = links[index];
      image.src = a.dataset.image;
      image.alt = a.querySelector("img").alt;
      link.href = a.getAttribute("href");
      counter.textContent = `${index + 1} / ${links.length}`;
      links.forEach((other) => other.classList.toggle("current", other === a));
    }

    function setPlaying(on) {
      if (on && timer === null) {
        timer = setInterval(() => show(index + 1), interval);
      } else if (!on && timer !== null) {
        clearInterval(timer);
        timer = null;
      }
      play.textContent = timer === null ? "Play" : "Pause";
      play.setAttribute("aria-pressed", String(timer !== null));
    }

    function step(delta) {
      setPlaying(false);
      show(index + delta);
    }

    play.addEventListener("click", () => setPlaying(timer === null));
    document.getElementById("flip-prev").addEventListener("click", () => step(-1));
    document.getElementById("flip-next").addEventListener("click", () => step(1));
    document.addEventListener("keydown", (event) => {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      const target = event.target.closest ? event.target : document.body;
      if (target.closest("input, textarea, select")) return;
      if (event.key === " ") {
        if (target.closest("button, a")) return; // its own activation (a click) handles it
        event.preventDefault();
        setPlaying(timer === null);
      } else if (event.key === "ArrowRight") {
        step(1);
      } else if (event.key === "ArrowLeft") {
        step(-1);
      }
    });

    book.querySelector(".flipcontrols").hidden = false;
    show(index);
  });
})();
