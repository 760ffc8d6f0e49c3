// Session warning: ask the server how long is left (so every tab agrees), show a
// dialog two minutes before the end with `Stay signed in`, and go to sign-in at the end.
(function () {
  "use strict";
  var box, statusUrl, stayUrl, loginUrl, warningSeconds = 120, timer = null, tick = null;
  var deadline = 0;

  function csrfToken() {
    var input = box.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function schedule(data) {
    if (!data.signed_in || data.seconds_left <= 0) {
      window.location.assign(loginUrl + "?next=" + encodeURIComponent(window.location.pathname));
      return;
    }
    warningSeconds = data.warning_seconds || warningSeconds;
    deadline = Date.now() + data.seconds_left * 1000;
    clearTimeout(timer);
    if (data.seconds_left > warningSeconds) {
      hide();
      // Ask again when the warning would be due: another tab may have kept us alive.
      timer = setTimeout(check, (data.seconds_left - warningSeconds) * 1000);
    } else {
      show();
      timer = setTimeout(check, Math.min(data.seconds_left, 15) * 1000);
    }
  }

  function check() {
    fetch(statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(schedule)
      .catch(function () { timer = setTimeout(check, 30000); });
  }

  function stay(event) {
    event.preventDefault();
    fetch(stayUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    })
      .then(function (r) { return r.json(); })
      .then(schedule)
      .catch(check);
  }

  function render() {
    var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    var words = document.getElementById("session-warning-under-a-minute");
    if (left >= 60) {
      // The text for about this many minutes, else the longest there is.
      for (var minutes = Math.round(left / 60); minutes > 0; minutes--) {
        var found = document.getElementById("session-warning-minutes-" + minutes);
        if (found) {
          words = found;
          break;
        }
      }
    }
    box.querySelector(".session-warning-left").textContent = words.content.textContent;
  }

  function show() {
    if (box.hidden) {
      box.hidden = false;
      box.querySelector(".session-stay").focus();
    }
    render();
    clearInterval(tick);
    // Update the words every 15 seconds only, so screen readers are not flooded.
    tick = setInterval(render, 15000);
  }

  function hide() {
    box.hidden = true;
    clearInterval(tick);
  }

  function init() {
    box = document.getElementById("session-warning");
    if (!box || !window.fetch) { return; }
    statusUrl = box.getAttribute("data-status-url");
    stayUrl = box.getAttribute("data-stay-url");
    loginUrl = box.getAttribute("data-login-url");
    box.querySelector("form").addEventListener("submit", stay);
    box.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { box.querySelector(".session-stay").click(); }
    });
    // Any htmx request counts as activity on the server: ask again after each one.
    document.body.addEventListener("htmx:afterRequest", function () {
      clearTimeout(timer);
      timer = setTimeout(check, 1000);
    });
    check();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
