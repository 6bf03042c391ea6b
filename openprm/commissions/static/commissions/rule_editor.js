// The structured rules editor: keeps each tier's "up to" in step with the next tier's start while typing,
// and after a row button (swapped in by htmx) puts the focus on the new or moved row (a moved condition
// keeps the focus on its move button, so pressing it again moves it further). The form works the
// same without it: the row buttons post the form and the page comes back with the change.
(function () {
  "use strict";

  function refreshUppers(table) {
    var rows = table.querySelectorAll("tbody tr");
    for (var n = 0; n < rows.length; n++) {
      var cell = rows[n].querySelector(".cm-upper");
      var next = rows[n + 1] ? rows[n + 1].querySelector("input[name$='-from']") : null;
      if (cell) { cell.textContent = next && next.value.trim() ? next.value.trim() : "and above"; }
    }
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target && target.name && /-tier-\d+-from$/.test(target.name)) {
      var table = target.closest("table.cm-tiers");
      if (table) { refreshUppers(table); }
    }
  });

  var lastOp = null;
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("#rule-editor button[name=op]") : null;
    lastOp = button ? button.value : lastOp;
  });

  // The first input of what a row button added (the last row of its kind).
  function added(form, verb, rule) {
    var scope = rule ? document.getElementById("rule-" + rule) : null;
    if (verb === "add_rule") {
      var rules = form.querySelectorAll(".cm-rule");
      scope = rules[rules.length - 1];
      return scope ? scope.querySelector("input[name$='-key']") : null;
    }
    if (scope && verb === "add_tier") {
      var froms = scope.querySelectorAll("input[name$='-from']");
      return froms[froms.length - 1];
    }
    if (scope && (verb === "add_cond" || verb === "add_group" || verb === "add_gcond")) {
      var values = scope.querySelectorAll(".cm-cond input[name$='-value']");
      return values[values.length - 1];
    }
    return null;
  }

  // After a swap: a moved rule, condition or group keeps the focus on its button (the page marks it with
  // autofocus, which also serves a page loaded without JavaScript: the same way while the row can move
  // further, else the other way); an added row's first input gets it; else the problems or "+ Add a rule".
  document.addEventListener("htmx:afterSettle", function (event) {
    var form = document.getElementById("rule-editor");
    if (!form || !lastOp || !form.contains(event.target)) { return; }
    var parts = lastOp.split(":");
    var focus = form.querySelector("button[autofocus]") || added(form, parts[0], parts[1]);
    if (!focus) { focus = form.querySelector("#editor-errors") ? form : form.querySelector("#add-rule"); }
    if (focus && focus.focus) { focus.focus(); }
    lastOp = null;
  });
})();
