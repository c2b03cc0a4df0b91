// Small behaviours, no inline script (the Content-Security-Policy forbids it).
(function () {
  "use strict";

  // Confirmation before a destructive action: <form data-confirm="Delete this?">.
  // With data-confirm-when="delete" (or several: "complete skip"), only when the form's action
  // field says so.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    var when = form.getAttribute && form.getAttribute("data-confirm-when");
    if (when && (!form.elements.action ||
                 when.split(" ").indexOf(form.elements.action.value) < 0)) {
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

// The main menu collapses behind "Menu" on a phone (the CSS hides it only when this script runs).
document.documentElement.classList.add("js");
(function () {
  "use strict";

  function toggle() { return document.querySelector(".menu-toggle"); }
  function setMenu(open) {
    var button = toggle(), nav = document.getElementById("mainnav");
    if (!button || !nav) { return; }
    button.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("open", open);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".menu-toggle");
    if (button) { setMenu(button.getAttribute("aria-expanded") !== "true"); }
  });

  // Escape closes what is open, innermost first: a menu or disclosure (<details>), the phone
  // menu, then a pane that says how to close it (data-escape-closes: its close control).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) { return; }
    var active = document.activeElement;
    var details = active && active.closest ? active.closest("details[open]") : null;
    if (!details) { details = document.querySelector(".usermenu details[open]"); }
    if (details) {
      details.open = false;
      details.querySelector("summary").focus();
      event.preventDefault();
      return;
    }
    var button = toggle();
    if (button && button.getAttribute("aria-expanded") === "true") {
      setMenu(false);
      button.focus();
      event.preventDefault();
      return;
    }
    var pane = document.querySelector("[data-escape-closes]");
    if (pane) {
      var close = pane.querySelector(pane.getAttribute("data-escape-closes"));
      if (close) { event.preventDefault(); close.click(); }
    }
  });
  // A click elsewhere closes the user menu.
  document.addEventListener("click", function (event) {
    var open = document.querySelector(".usermenu details[open]");
    if (open && !open.contains(event.target)) { open.open = false; }
  });
})();

// After an htmx swap: focus goes where the work continues, and what the answer reports is read
// out by the page's one live region (#announcer), not by a region that arrives with it.
//   data-focus-here   on the element to focus in new content (a container: its first field)
//   data-focus-after  on a control: a selector, resolved after the swap, for the element its
//                     answer adds (the segment editor's new row)
//   data-return-focus on a form or link: a selector, resolved before the request, for the
//                     element to come back to when the answer has no data-focus-here
(function () {
  "use strict";
  var FIELDS = "input:not([type=hidden]):not([disabled]), select:not([disabled]), " +
    "textarea:not([disabled]), button:not([disabled]), a[href], [tabindex]";
  var before = null;  // what had the focus, and where to come back to

  function describe(element) {
    if (!element || element === document.body) { return null; }
    return {id: element.id, label: element.getAttribute("aria-label"),
            href: element.getAttribute("href"), tag: element.tagName};
  }
  function find(described) {
    if (!described) { return null; }
    if (described.id) { return document.getElementById(described.id); }
    var candidates = document.querySelectorAll(described.tag);
    for (var i = 0; i < candidates.length; i++) {
      var c = candidates[i];
      if ((described.label && c.getAttribute("aria-label") === described.label) ||
          (!described.label && described.href && c.getAttribute("href") === described.href)) {
        return c;
      }
    }
    return null;
  }
  function focusInto(element) {
    if (!element) { return false; }
    var target = element;
    if (!target.matches(FIELDS)) {
      var invalid = element.querySelector("[aria-invalid=true], .has-error input, " +
                                          ".has-error select, .has-error textarea");
      target = invalid || element.querySelector(FIELDS);
      if (!target || element.tagName.charAt(0) === "H") {
        target = element;
        if (!target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
      }
    }
    target.focus();
    return document.activeElement === target;
  }
  function lost() {
    var active = document.activeElement;
    return !active || active === document.body || !document.contains(active);
  }
  window.appFocus = focusInto;

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var holder = elt.closest ? elt.closest("[data-return-focus]") : null;
    var back = holder ? document.querySelector(holder.getAttribute("data-return-focus")) : null;
    var after = elt.closest ? elt.closest("[data-focus-after]") : null;
    before = {focused: describe(document.activeElement), back: describe(back),
              after: after ? after.getAttribute("data-focus-after") : null};
  });

  var pending = [], timer = null;
  function announce(texts) {
    var region = document.getElementById("announcer");
    if (!region || !texts.length) { return; }
    pending = pending.concat(texts);
    region.textContent = "";
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      region.textContent = pending.join(" ");
      pending = [];
    }, 80);
  }
  // A row answered in place (a worklist row): the work continues on the next row.
  function nextRow(row) {
    var rows = [row.nextElementSibling, row.previousElementSibling];
    for (var i = 0; i < rows.length; i++) {
      var other = rows[i];
      while (other && other.tagName === "TR" && !other.querySelector("button")) {
        other = i === 0 ? other.nextElementSibling : other.previousElementSibling;
      }
      if (other && other.tagName === "TR") { return other.querySelector("button"); }
    }
    return null;
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var root = document.contains(event.target) && event.target !== document.body
      ? event.target : document.getElementById("main");
    // What the answer reports: the live region reads it; the copy in the content stays visible.
    var messages = root.querySelectorAll("[role=status], [role=alert], .flash");
    var said = [];
    for (var i = 0; i < messages.length; i++) {
      if (messages[i].id === "announcer") { continue; }
      var text = messages[i].textContent.replace(/\s+/g, " ").trim();
      if (text && said.indexOf(text) < 0) { said.push(text); }
      messages[i].removeAttribute("role");
    }
    announce(said);
    var remembered = before;
    before = null;
    if (event.defaultPrevented || !lost()) { return; }
    var here = root.matches("[data-focus-here]") ? root : root.querySelector("[data-focus-here]");
    if (here && focusInto(here)) { return; }
    if (remembered && remembered.after &&
        focusInto(document.querySelector(remembered.after))) { return; }
    if (root.tagName === "TR" && focusInto(nextRow(root))) { return; }
    if (remembered && focusInto(find(remembered.focused))) { return; }
    if (remembered && focusInto(find(remembered.back))) { return; }
    focusInto(root);
  });

  // A box that scrolls sideways can be reached with the keyboard (tabindex=0, named region).
  function reachable(root) {
    var boxes = (root || document).querySelectorAll(".scroll, .table");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.scrollWidth <= box.clientWidth + 1 || box.hasAttribute("tabindex")) { continue; }
      box.setAttribute("tabindex", "0");
      if (!box.getAttribute("role") && box.tagName !== "TABLE") {
        box.setAttribute("role", "region");
      }
      if (!box.getAttribute("aria-label") && !box.getAttribute("aria-labelledby")) {
        var caption = box.querySelector("caption");
        box.setAttribute("aria-label", caption ? caption.textContent.trim()
                         : document.body.getAttribute("data-text-scrolls") ||
                           "Table, scrolls sideways");
      }
    }
  }
  document.addEventListener("DOMContentLoaded", function () { reachable(document); });
  window.addEventListener("resize", function () { reachable(document); });
  document.addEventListener("htmx:afterSettle", function (event) { reachable(event.detail.elt); });
})();
