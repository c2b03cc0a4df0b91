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
