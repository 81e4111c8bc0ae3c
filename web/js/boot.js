// Classic script in <head>, run before the body is parsed (it is tiny; the CSP allows no inline script).
//  - On file://, where browsers refuse module scripts and workers, the page keeps its pre-rendered
//    numbers and shows how to serve it.
//  - Elsewhere it starts the calculator's worker at once, so Pyodide boots while the page is parsed
//    and app.js and its modules download; messages that arrive before app.js takes the worker over
//    are kept.
(function () {
  "use strict";
  if (location.protocol === "file:") {
    document.documentElement.setAttribute("data-state", "error");
    document.addEventListener("DOMContentLoaded", function () {
      var notice = document.getElementById("file-notice");
      if (notice) notice.hidden = false;
      var status = document.getElementById("status");
      if (status) status.hidden = true;
    });
    return;
  }
  // A link's settings reach the form only when app.js runs, after the first paint: until then the
  // form and result (the page's own defaults) are covered by a placeholder (site.css html[data-link]).
  if (/[?&](?!(?:lang|embed)=)[^=&]+=/.test(location.search) || /^#config=/.test(location.hash)) {
    document.documentElement.setAttribute("data-link", "");
  }
  var script = document.currentScript;
  try {
    var worker = new Worker(new URL("worker.js", script.src), { type: "module", name: script.dataset.calc });
    var early = { worker: worker, messages: [], errors: [] };
    worker.onmessage = function (event) { early.messages.push(event.data); };
    worker.onerror = function (event) { event.preventDefault(); early.errors.push(event.message || "the worker could not be loaded"); };
    window.calcEarlyWorker = early;
  } catch (error) {
    window.calcEarlyWorker = null; // app.js starts its own and reports the failure
  }
})();
