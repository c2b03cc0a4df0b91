// The designer: the A/B split slider shows both shares as it moves (the form works without it).
(function () {
  "use strict";

  document.addEventListener("input", function (event) {
    var slider = event.target;
    if (!slider.hasAttribute || !slider.hasAttribute("data-split")) { return; }
    var output = document.getElementById("split-output");
    var a = parseInt(slider.value, 10);
    // The page's words and percent sign ("A {a} % / B {b} %"), English when it has none.
    var template = (output && output.getAttribute("data-template")) || "A {a}% / B {b}%";
    if (output && !isNaN(a)) {
      output.textContent = template.replace("{a}", a).replace("{b}", 100 - a);
    }
  });
})();

// Unsaved changes in the step pane: leaving them (another tile, a "+", any link or form outside
// the pane's form, closing the tab) asks first; saving the pane's form does not. The designer is
// boosted by htmx, so its own requests are guarded on htmx:beforeRequest, plain links and forms
// on click and submit.
(function () {
  "use strict";
  // The question in the page's language (base.html), English when a page has none.
  var MESSAGE = (document.body && document.body.getAttribute("data-text-unsaved-step")) ||
    "Your changes to this step are not saved. Leave without saving them?";
  var dirty = null;

  function current() {
    if (dirty && !document.contains(dirty)) { dirty = null; }  // swapped out
    return dirty;
  }
  function boosted(element) {
    var holder = element.closest("[hx-boost]");
    return !!holder && holder.getAttribute("hx-boost") === "true";
  }
  function markDirty(event) {
    var form = event.target.closest ? event.target.closest("#pane form") : null;
    if (form && form.method.toLowerCase() === "post") { dirty = form; }
  }
  function mayLeave() {
    if (window.confirm(MESSAGE)) { dirty = null; return true; }
    return false;
  }

  document.addEventListener("input", markDirty);
  document.addEventListener("change", markDirty);
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = current(), source = event.detail.elt;
    if (!form) { return; }
    if (source === form) { dirty = null; return; }  // saving it
    if (form.contains(source)) { return; }  // a control of the form itself (add a row...)
    if (!mayLeave()) { event.preventDefault(); }
  });
  document.addEventListener("submit", function (event) {
    var form = current();
    if (!form || boosted(event.target)) { return; }
    if (event.target === form) { dirty = null; return; }
    if (!mayLeave()) { event.preventDefault(); }
  }, true);
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    var form = current();
    if (!link || !form || form.contains(link) || boosted(link)) { return; }
    if ((link.getAttribute("href") || "").charAt(0) === "#") { return; }
    if (!mayLeave()) { event.preventDefault(); }
  }, true);
  window.addEventListener("beforeunload", function (event) {
    if (current()) { event.preventDefault(); event.returnValue = ""; }
  });
})();
