// Small behaviours, no inline script (the Content-Security-Policy forbids it).
(function () {
  "use strict";

  // Confirmation before a destructive action: <form data-confirm="Delete this?">.
  // With data-confirm-when="delete", only when the form's action field says so.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    var when = form.getAttribute && form.getAttribute("data-confirm-when");
    if (when && (!form.elements.action || form.elements.action.value !== when)) {
      return;
    }
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);

  // "Select all" checkboxes: <input type="checkbox" data-select-all="ids">.
  document.addEventListener("change", function (event) {
    var name = event.target.getAttribute && event.target.getAttribute("data-select-all");
    if (!name) { return; }
    // form.elements includes boxes outside the form element that name it (form="...").
    var fields = event.target.form.elements;
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].type === "checkbox" && fields[i].name === name) {
        fields[i].checked = event.target.checked;
      }
    }
  });

  // Choices that belong to one action: <select data-for-action="owner"> shows only while the
  // form's action field says "owner" (the bulk bar of record lists).
  function showForAction(form) {
    var fields = form.querySelectorAll("[data-for-action]");
    for (var i = 0; i < fields.length; i++) {
      fields[i].hidden = fields[i].getAttribute("data-for-action") !== form.elements.action.value;
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "action" && event.target.form) { showForAction(event.target.form); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form");
    for (var i = 0; i < forms.length; i++) {
      if (forms[i].elements.action && forms[i].querySelector("[data-for-action]")) {
        showForAction(forms[i]);
      }
    }
  });

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
