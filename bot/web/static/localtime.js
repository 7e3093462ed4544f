// Shows each meeting time in the visitor's own zone. The server wrote every <time> in the
// community's zone (readable without JavaScript); this rewrites it with the browser's zone
// rules (Intl), so summer time is the visitor's, and keeps the community's time beside it.
(function () {
  "use strict";
  var yours = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var lang = document.documentElement.lang || undefined;
  var day = new Intl.DateTimeFormat(lang, {
    weekday: "long", year: "numeric", month: "long", day: "numeric"
  });
  var clock = new Intl.DateTimeFormat(lang, {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short"
  });
  var changed = false;
  document.querySelectorAll("time[datetime][data-zone]").forEach(function (el) {
    if (el.getAttribute("data-zone") === yours) { return; }
    var when = new Date(el.getAttribute("datetime"));
    if (isNaN(when.getTime())) { return; }
    var community = document.createElement("span");
    community.className = "community-time";
    community.textContent = " (" + el.textContent + ")";
    el.textContent = day.format(when) + ", " + clock.format(when);
    el.setAttribute("data-shown-zone", yours);
    el.after(community);
    changed = true;
  });
  var note = document.getElementById("zone-note");
  if (changed && note) {
    note.textContent = note.getAttribute("data-text").replace("{zone}", yours);
  }
})();
