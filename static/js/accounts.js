// Show-password toggles: the button is hidden until this script runs (progressive).
(function () {
  "use strict";
  function setUp(button) {
    var input = document.getElementById(button.getAttribute("data-password-toggle"));
    if (!input) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var showing = input.type === "text";
      input.type = showing ? "password" : "text";
      button.setAttribute("aria-pressed", showing ? "false" : "true");
      button.textContent = button.getAttribute(showing ? "data-show-text" : "data-hide-text");
    });
    // Never submit a password as visible text that a browser might then remember as plain.
    if (input.form) {
      input.form.addEventListener("submit", function () { input.type = "password"; });
    }
  }
  function init() {
    document.querySelectorAll("[data-password-toggle]").forEach(setUp);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
