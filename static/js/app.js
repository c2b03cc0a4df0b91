// Small behaviours, no inline script (the Content-Security-Policy forbids it).
(function () {
  "use strict";

  // Confirmation before a destructive action: <form data-confirm="Delete this?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);

  // Sign-up: suggest the web address from the organization name until the user edits it.
  document.addEventListener("DOMContentLoaded", function () {
    var name = document.getElementById("org_name");
    var slug = document.getElementById("slug");
    if (!name || !slug) { return; }
    var touched = slug.value !== "";
    slug.addEventListener("input", function () { touched = true; });
    name.addEventListener("input", function () {
      if (touched) { return; }
      slug.value = name.value.normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
        .toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40);
    });
  });
})();
