// The browser's IANA time zone ("Asia/Tokyo") into the sign-in form's hidden field: a user who
// never chose a zone on their profile sees times in the zone they sign in from.
(function () {
  "use strict";
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    return;
  }
  document.querySelectorAll('input[name="browser_time_zone"]').forEach(function (input) {
    input.value = zone;
  });
})();
