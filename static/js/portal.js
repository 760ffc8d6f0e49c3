/* CarePortal's own behaviour: pop-up dialogs loaded by htmx, and the print button.
 * No inline script anywhere (strict CSP): everything hangs off data- attributes.
 *
 * A pop-up is a <dialog data-portal-dialog> holding the element an htmx link targets;
 * the link carries data-dialog-opener, the loaded content a [data-dialog-title] heading
 * and a [data-dialog-close] button. Other pages can reuse it as it is. */
(function () {
  "use strict";

  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
  var opener = null;

  function focusables(dialog) {
    return Array.prototype.filter.call(dialog.querySelectorAll(FOCUSABLE), function (el) {
      return el.offsetParent !== null || el === document.activeElement;
    });
  }

  function closeDialog(dialog) {
    if (dialog && dialog.open) {
      dialog.close();
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) {
      return;
    }
    var link = target.closest("[data-dialog-opener]");
    if (link) {
      // Remembered so that closing the dialog puts the focus back where the user was.
      opener = link;
    }
    var close = target.closest("[data-dialog-close]");
    if (close) {
      closeDialog(close.closest("dialog"));
    }
    if (target.closest("[data-print]")) {
      window.print();
    }
  });

  // Keep Tab and Shift+Tab inside an open dialog.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab") {
      return;
    }
    var open = document.querySelectorAll("dialog[data-portal-dialog][open]");
    var dialog = open.length ? open[open.length - 1] : null;
    if (!dialog) {
      return;
    }
    var items = focusables(dialog);
    if (items.length === 0) {
      event.preventDefault();
      return;
    }
    var first = items[0];
    var last = items[items.length - 1];
    var active = document.activeElement;
    if (!dialog.contains(active)) {
      event.preventDefault();
      first.focus();
    } else if (event.shiftKey && (active === first || !items.includes(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first.focus();
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var requested = event.detail.pathInfo && event.detail.pathInfo.finalRequestPath;
    if (!xhr || !xhr.responseURL || !requested) {
      return;
    }
    // The browser followed a redirect (the session ended and we were sent to sign in):
    // load that page whole, never a sign-in form inside the dialog. When the server
    // answers HX-Redirect, htmx itself reloads the page and no swap happens.
    var answered = new URL(xhr.responseURL, window.location.href);
    var asked = new URL(requested, window.location.href);
    if (answered.pathname !== asked.pathname) {
      event.detail.shouldSwap = false;
      window.location.assign(answered.href);
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var elt = event.detail.elt;
    // Not found or a server error: open the page itself, which explains what happened.
    if (elt && elt.matches && elt.matches("[data-dialog-opener]") && elt.href) {
      window.location.assign(elt.href);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    var dialog = target && target.closest ? target.closest("dialog[data-portal-dialog]") : null;
    if (!dialog) {
      return;
    }
    if (!dialog.open) {
      dialog.showModal();
    }
    var title = dialog.querySelector("[data-dialog-title]");
    (title || dialog).focus();
  });

  document.addEventListener(
    "close",
    function (event) {
      var dialog = event.target;
      if (!(dialog instanceof HTMLDialogElement) || !dialog.hasAttribute("data-portal-dialog")) {
        return;
      }
      // Health and billing details do not stay in the page once the dialog is closed.
      Array.prototype.forEach.call(dialog.querySelectorAll("[data-dialog-body]"), function (el) {
        el.textContent = "";
      });
      if (opener && document.contains(opener)) {
        opener.focus();
      }
      opener = null;
    },
    true
  );

  // The print button needs JavaScript, so it is hidden until we know it works.
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (el) {
      el.hidden = false;
    });
  });
})();
