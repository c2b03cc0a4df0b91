// The designer: the A/B split slider shows both shares as it moves (the form works without it).
(function () {
  "use strict";

  document.addEventListener("input", function (event) {
    var slider = event.target;
    if (!slider.hasAttribute || !slider.hasAttribute("data-split")) { return; }
    var output = document.getElementById("split-output");
    var a = parseInt(slider.value, 10);
    if (output && !isNaN(a)) { output.textContent = "A " + a + "% / B " + (100 - a) + "%"; }
  });
})();

// Unsaved changes in the step pane: leaving them (another tile, a "+", any link or form outside
// the pane's form) asks first; saving the pane's form does not.
(function () {
  "use strict";
  var MESSAGE = "Your changes to this step are not saved. Leave without saving them?";
  var dirty = null;

  function paneForm(element) {
    return element && element.closest ? element.closest("#pane form") : null;
  }
  function markDirty(event) {
    var form = paneForm(event.target);
    if (form && form.method.toLowerCase() === "post") { dirty = form; }
  }
  function mayLeave() {
    if (!dirty) { return true; }
    if (window.confirm(MESSAGE)) { dirty = null; return true; }
    return false;
  }

  document.addEventListener("input", markDirty);
  document.addEventListener("change", markDirty);
  document.addEventListener("submit", function (event) {
    if (event.target === dirty) { dirty = null; return; }
    if (!mayLeave()) { event.preventDefault(); }
  }, true);
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || !dirty || dirty.contains(link)) { return; }
    if ((link.getAttribute("href") || "").charAt(0) === "#") { return; }
    if (!mayLeave()) { event.preventDefault(); }
  }, true);
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
})();
