// Classic (non-module) script, run first.  Browsers refuse module scripts and workers on file://,
// so there the page keeps its pre-rendered numbers and shows how to serve it instead.
(function () {
  "use strict";
  if (location.protocol !== "file:") return;
  document.documentElement.setAttribute("data-state", "error");
  document.addEventListener("DOMContentLoaded", function () {
    var notice = document.getElementById("file-notice");
    if (notice) notice.hidden = false;
    var status = document.getElementById("status");
    if (status) status.hidden = true;
  });
})();
