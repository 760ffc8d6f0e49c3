/*
 * Tick the password rules as the person types (progressive enhancement).
 * The rules come from data- attributes on [data-password-rules] (see
 * templates/accounts/_password_rules.html); the server checks them all again, and the
 * rules it alone can check (common, personal, history) are left as plain text here.
 */
(function () {
  "use strict";

  function isSymbol(ch) {
    return !/[\p{L}\p{N}\s]/u.test(ch);
  }

  var checks = {
    min_length: function (v, box) { return Array.from(v).length >= Number(box.dataset.minLength); },
    max_length: function (v, box) { return v.length > 0 && Array.from(v).length <= Number(box.dataset.maxLength); },
    upper: function (v) { return /\p{Lu}/u.test(v); },
    lower: function (v) { return /\p{Ll}/u.test(v); },
    digit: function (v) { return /\p{Nd}/u.test(v); },
    symbol: function (v) { return Array.from(v).some(isSymbol); }
  };

  function setState(item, met, typed, status) {
    item.classList.toggle("is-met", met);
    item.classList.toggle("is-unmet-typed", !met && typed);
    var state = item.querySelector(".rule-state");
    if (state && status) {
      state.textContent = " (" + (met ? status.dataset.metText : status.dataset.unmetText) + ")";
    }
  }

  function setUp(box) {
    var input = document.getElementById(box.dataset.for);
    if (!input) { return; }
    var confirm = box.dataset.confirm ? document.getElementById(box.dataset.confirm) : null;
    var status = box.querySelector(".password-rules-status");
    box.classList.add("is-live");

    function update() {
      var value = input.value;
      var typed = value.length > 0;
      box.querySelectorAll("[data-rule]").forEach(function (item) {
        var rule = item.dataset.rule;
        if (rule === "match") {
          var same = confirm !== null && typed && confirm.value === value;
          setState(item, same, confirm !== null && confirm.value.length > 0, status);
        } else if (checks[rule]) {
          setState(item, typed && checks[rule](value, box), typed, status);
        }
      });
    }

    input.addEventListener("input", update);
    if (confirm) { confirm.addEventListener("input", update); }
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-password-rules]").forEach(setUp);
  });
})();
