// Live character and SMS part count for <textarea data-sms-counter="ID">, written into #ID.
// Mirrors saas/messaging/rendering.py count_sms: GSM-7 160/153 (extension characters count 2),
// UCS-2 70/67 as soon as any character is outside GSM-7 (emoji count 2 UTF-16 units).
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "^{}\\[~]|€\f";

  function count(text) {
    var gsm = true, units = 0;
    for (var i = 0; i < text.length; i++) {
      var c = text.charAt(i);
      if (EXTENSION.indexOf(c) >= 0) { units += 2; }
      else if (BASIC.indexOf(c) >= 0) { units += 1; }
      else { gsm = false; break; }
    }
    var single = 160, multi = 153, encoding = "GSM-7";
    if (!gsm) { units = text.length; single = 70; multi = 67; encoding = "UCS-2"; }
    var parts = units === 0 ? 0 : (units <= single ? 1 : Math.ceil(units / multi));
    return {units: units, parts: parts, encoding: encoding, perPart: parts > 1 ? multi : single};
  }

  function update(area) {
    var out = document.getElementById(area.getAttribute("data-sms-counter"));
    if (!out) { return; }
    var c = count(area.value);
    // The page may give the sentence in its language: data-format-0, -1 and -many, with
    // {characters}, {parts}, {encoding} and {per_part} (numbers formatted with data-group).
    var format = out.getAttribute("data-format-" + (c.parts < 2 ? c.parts : "many"));
    if (format) {
      var group = out.getAttribute("data-group") || ",";
      var number = function (n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, group); };
      out.textContent = format.replace("{characters}", number(c.units))
        .replace("{parts}", number(c.parts)).replace("{encoding}", c.encoding)
        .replace("{per_part}", number(c.perPart));
    } else {
      out.textContent = c.units + " characters · " + c.parts + " SMS part" +
        (c.parts === 1 ? "" : "s") + " · " + c.encoding + " (" + c.perPart + " per part)";
    }
    out.setAttribute("data-encoding", c.encoding);
  }

  document.addEventListener("input", function (event) {
    var area = event.target;
    if (area && area.hasAttribute && area.hasAttribute("data-sms-counter")) { update(area); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var areas = document.querySelectorAll("textarea[data-sms-counter]");
    for (var i = 0; i < areas.length; i++) { update(areas[i]); }
  });
})();
