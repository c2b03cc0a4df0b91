// The designer's "Fit to screen": pressed, the flow takes the largest of a few fixed zoom levels
// (static/css/app.css, "designer flow": .zoom-75, .zoom-50) at which it fits the width of its
// box; pressed again, it is back at 100 %. The choice holds while the manager works on the
// sequence (htmx swaps, resizes, other sequences in the same tab). Without the script the button
// stays hidden and the flow scrolls inside its box.
(function () {
  "use strict";
  var LEVELS = [["zoom-75", 0.75], ["zoom-50", 0.5]];
  var KEY = "designer-fit";

  function remembered() {
    try { return window.sessionStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }
  function remember(on) {
    try { window.sessionStorage.setItem(KEY, on ? "1" : "0"); } catch (e) { /* private mode */ }
  }
  function room(canvas) {
    var style = window.getComputedStyle(canvas);
    return canvas.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  }

  // A canvas wider than its box scrolls, and the keyboard can scroll it (a named region).
  function reachable(canvas) {
    var scrolls = canvas.scrollWidth > canvas.clientWidth + 1;
    if (scrolls && !canvas.hasAttribute("tabindex")) {
      canvas.setAttribute("tabindex", "0");
      canvas.setAttribute("role", "region");
    } else if (!scrolls && canvas.getAttribute("role") === "region") {
      canvas.removeAttribute("tabindex");
      canvas.removeAttribute("role");
    }
  }

  function apply() {
    var button = document.getElementById("fit-toggle");
    var chart = document.getElementById("flowchart");
    if (!button || !chart) { return; }
    fit(button, chart);
    reachable(chart.parentElement);
  }

  function fit(button, chart) {
    var on = remembered();
    button.setAttribute("aria-pressed", on ? "true" : "false");
    for (var i = 0; i < LEVELS.length; i++) { chart.classList.remove(LEVELS[i][0]); }
    if (!on) { return; }
    var space = room(chart.parentElement), natural = chart.offsetWidth;
    if (natural <= space) { return; }
    var chosen = LEVELS[LEVELS.length - 1][0];  // the smallest: what is left scrolls in its box
    for (var j = 0; j < LEVELS.length; j++) {
      if (natural * LEVELS[j][1] <= space) { chosen = LEVELS[j][0]; break; }
    }
    chart.classList.add(chosen);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("#fit-toggle") : null;
    if (!button) { return; }
    remember(button.getAttribute("aria-pressed") !== "true");
    apply();
  });
  document.addEventListener("DOMContentLoaded", apply);
  document.addEventListener("htmx:afterSettle", apply);
  var timer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(apply, 100);
  });
  if (document.readyState !== "loading") { apply(); }
})();
