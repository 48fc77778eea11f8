// Live update of the orders pages: every few seconds the part of the page
// marked data-live is fetched again and swapped in place when it changed,
// so the dashboard follows the orders without a reload. Plain script, no
// build step; paused while the tab is hidden.
(function () {
  "use strict";
  var box = document.querySelector("[data-live]");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-live");
  var every = Number(box.getAttribute("data-every")) || 3000;
  var note = document.getElementById("live-note");
  var last = null;
  function tick() {
    if (document.hidden) {
      setTimeout(tick, every);
      return;
    }
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        // A signed-out session is redirected to the sign-in page: not ours.
        return r.ok && r.headers.get("x-live-fragment") ? r.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== last) {
          box.innerHTML = html;
          last = html;
          if (note) note.textContent = "Live: updated " + new Date().toLocaleTimeString();
        }
      })
      .catch(function () {})
      .then(function () {
        setTimeout(tick, every);
      });
  }
  setTimeout(tick, every);
})();
