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
