// OpenPRM's own behaviour, loaded with `defer` from base.html. No inline script anywhere (the CSP allows
// script-src 'self' only): pages opt in with data attributes.
//   data-menu-toggle      the header's menu button on narrow screens (toggles .menu-open on the header)
//   data-copy="text"      a button copying the text (or, with data-copy-from="#id", that field's value)
//   data-autosubmit       a <select> (or input) submitting its form when changed
//   data-select-on-focus  a read-only field selecting its whole value when focused or clicked
//   data-confirm="text"   a form (on submit) or button (on click) that asks first; Cancel stops it
//   data-select-all="sel" a checkbox that checks or unchecks every box matching the selector
//   data-query-into="#id" a button copying the page's query string into that field before submitting
(function () {
  "use strict";

  function menu() {
    var button = document.querySelector("[data-menu-toggle]");
    if (!button) return;
    var header = button.closest("header");
    function set(open) {
      header.classList.toggle("menu-open", open);
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    button.addEventListener("click", function () {
      set(!header.classList.contains("menu-open"));
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && header.classList.contains("menu-open")) {
        set(false);
        button.focus();
      }
    });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http (a dev server on a LAN address): the old way, through a temporary field.
    return new Promise(function (resolve, reject) {
      var field = document.createElement("textarea");
      field.value = text;
      field.setAttribute("readonly", "");
      field.style.position = "fixed";
      field.style.opacity = "0";
      document.body.appendChild(field);
      field.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(field);
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  function copyButtons() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-copy], [data-copy-from]");
      if (!button) return;
      event.preventDefault();
      var source = button.getAttribute("data-copy-from");
      var field = source ? document.querySelector(source) : null;
      var text = field ? (field.value !== undefined ? field.value : field.textContent) : button.getAttribute("data-copy");
      var label = button.getAttribute("data-label") || button.textContent;
      button.setAttribute("data-label", label);
      copyText(text || "").then(function () {
        button.textContent = "Copied";
        button.classList.add("copied");
      }, function () {
        button.textContent = "Press Ctrl+C";
        if (field && field.select) field.select();
      }).then(function () {
        window.setTimeout(function () {
          button.textContent = label;
          button.classList.remove("copied");
        }, 2000);
      });
    });
  }

  function autosubmit() {
    document.addEventListener("change", function (event) {
      var field = event.target.closest("[data-autosubmit]");
      if (field && field.form) field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
    });
  }

  function selectOnFocus() {
    ["focusin", "click"].forEach(function (type) {
      document.addEventListener(type, function (event) {
        var field = event.target.closest("[data-select-on-focus]");
        if (field && field.select) field.select();
      });
    });
  }

  function confirmations() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-confirm], input[type=submit][data-confirm]");
      if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
    });
    document.addEventListener("submit", function (event) {
      var form = event.target.closest("form[data-confirm]");
      if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  }

  function selectAll() {
    document.addEventListener("click", function (event) {
      var box = event.target.closest("[data-select-all]");
      if (!box) return;
      document.querySelectorAll(box.getAttribute("data-select-all")).forEach(function (other) {
        other.checked = box.checked;
      });
    });
  }

  function queryInto() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-query-into]");
      var field = button ? document.querySelector(button.getAttribute("data-query-into")) : null;
      if (field) field.value = window.location.search.slice(1);
    });
  }

  function start() {
    confirmations();
    selectAll();
    queryInto();
    menu();
    copyButtons();
    autosubmit();
    selectOnFocus();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
