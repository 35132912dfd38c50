// The insights page while literature imports run in the background: asks the API for each one's progress every two
// seconds and moves its bar; once one has ended (done or failed), loads the page again to show what it added.
(() => {
  "use strict";
  const running = [...document.querySelectorAll("[data-import-progress]")];
  if (running.length === 0) return;
  const format = new Intl.NumberFormat("en-US");
  async function poll() {
    let ended = false;
    for (const el of running) {
      try {
        const response = await fetch(el.dataset.importProgress, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!response.ok) { ended = true; continue; }
        const i = await response.json();
        el.querySelector("progress").value = i.done;
        el.querySelector("[data-done]").textContent = format.format(i.done);
        if (i.status !== "importing") ended = true;
      } catch {
        // The server may be restarting: the next poll asks again.
      }
    }
    // A GET of the page (not a reload, which could post the form again).
    if (ended) location.assign(location.pathname + location.search + "#import");
    else setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();
