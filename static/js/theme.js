// Applied before the page paints, so a chosen theme never flashes the other.
(function () {
  "use strict";
  try {
    var theme = localStorage.getItem("theme");
    if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  } catch (err) { /* storage blocked: follow the system */ }
})();
