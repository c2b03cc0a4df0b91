// Up next panel: the SMS part counter (static/js/sms-counter.js) counts on "input"; a panel
// swapped in by htmx or a composer opened later has not been counted yet, so ask for a count.
(function () {
  "use strict";

  function countAll(root) {
    var areas = (root || document).querySelectorAll("textarea[data-sms-counter]");
    for (var i = 0; i < areas.length; i++) {
      areas[i].dispatchEvent(new Event("input", {bubbles: true}));
    }
  }

  document.addEventListener("htmx:afterSettle", function (event) { countAll(event.target); });
  document.addEventListener("toggle", function (event) {
    if (event.target && event.target.open) { countAll(event.target); }
  }, true);
  document.addEventListener("DOMContentLoaded", function () { countAll(document); });
})();

// Up next answered (htmx swapped the panel): the work continues on the next open activity, or
// on the panel's message when none is left (app.js reads the message out).
(function () {
  "use strict";
  document.addEventListener("htmx:afterSwap", function (event) {
    var panel = document.getElementById("upnext");
    if (!panel || !window.appFocus || (event.target !== panel && !panel.contains(event.target))) {
      return;
    }
    var invalid = panel.querySelector("[aria-invalid=true], .error");
    var target = invalid ? invalid.closest("form") : null;
    if (target && window.appFocus(target)) { return; }
    var next = panel.querySelector(".un-current:not(.un-waiting) .un-title") ||
      panel.querySelector(".un-current .un-title") || panel.querySelector(".flash") ||
      panel.querySelector("h2");
    if (next) { window.appFocus(next); }
  });
})();
