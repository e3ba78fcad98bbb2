// The API tokens page: "Copy" buttons put the new token (or the curl line) on the clipboard.
// Where the clipboard is refused, the text is selected instead, for Ctrl+C.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const result = document.getElementById("copy-result");
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(source.textContent);
        result.textContent = "Copied.";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        result.textContent = "Selected: press Ctrl+C (or Cmd+C) to copy.";
      }
    });
  }
});
