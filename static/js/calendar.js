// Progressive enhancement for the calendar feed page: a Copy button next to the new
// address. Without JavaScript the address stays selectable in its read-only field.
(function () {
  "use strict";
  function setUp() {
    document.querySelectorAll(".copy-button[data-copy-target]").forEach(function (button) {
      var field = document.getElementById(button.getAttribute("data-copy-target"));
      var status = document.querySelector(".copy-status");
      if (!field || !navigator.clipboard) {
        return;
      }
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(function () {
          if (status) {
            status.textContent = status.getAttribute("data-copied-text");
          }
        });
      });
    });
    document.querySelectorAll(".feed-url").forEach(function (field) {
      field.addEventListener("focus", function () {
        field.select();
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
