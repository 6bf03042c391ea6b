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

  // After a swap: focus the first input of what the button added (the last row of its kind), or the moved rule.
  document.addEventListener("htmx:afterSettle", function (event) {
    var form = document.getElementById("rule-editor");
    if (!form || !lastOp || !form.contains(event.target)) { return; }
    var parts = lastOp.split(":"), verb = parts[0], rule = parts[1];
    if (verb === "up" || verb === "down") { rule = String(Number(rule) + (verb === "up" ? -1 : 1)); }
    var scope = rule ? document.getElementById("rule-" + rule) : null;
    var focus = null;
    // A moved condition or group: its row at its new place (the rows are numbered by place), on the same
    // button when it can move further that way, else on the other one.
    var moved = /^(up|down)_(item|gcond)$/.exec(verb);
    if (moved) {
      var step = moved[1] === "up" ? -1 : 1, at = parts.slice(2).map(Number);
      at[at.length - 1] += step;
      var name = "rule-" + rule + "-c-" + at.join("-");
      var row = document.getElementById(name + (moved[2] === "item" && document.getElementById(name + "-group") ? "-group" : "-row"));
      var buttons = row ? row.querySelectorAll(":scope > .cm-row-tools > .cm-move, :scope > .cm-move") : [];
      for (var b = 0; b < buttons.length; b++) {
        if (buttons[b].value.indexOf(moved[1] + "_") === 0) { focus = buttons[b]; }
      }
      focus = focus || buttons[0] || null;
    } else if (verb === "add_rule") {
      var rules = form.querySelectorAll(".cm-rule");
      scope = rules[rules.length - 1];
      focus = scope ? scope.querySelector("input[name$='-key']") : null;
    } else if (scope && verb === "add_tier") {
      var froms = scope.querySelectorAll("input[name$='-from']");
      focus = froms[froms.length - 1];
    } else if (scope && (verb === "add_cond" || verb === "add_group" || verb === "add_gcond")) {
      var values = scope.querySelectorAll(".cm-cond input[name$='-value']");
      focus = values[values.length - 1];
    } else if (scope) {
      focus = scope.querySelector("button[name=op]");
    }
    if (!focus) { focus = form.querySelector("#editor-errors") ? form : form.querySelector("#add-rule"); }
    if (focus && focus.focus) { focus.focus(); }
    lastOp = null;
  });
})();
