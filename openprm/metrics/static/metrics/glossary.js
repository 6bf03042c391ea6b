// The metric glossary filters as one types: each entry carries its searchable words (data-text) and its
// families (data-families); the form still works without JavaScript (?q=, ?family=).
(function () {
  "use strict";
  function init() {
    var input = document.getElementById("glossary-q");
    var family = document.getElementById("glossary-family");
    var list = document.getElementById("glossary");
    var count = document.querySelector("#glossary-count [data-count]");
    if (!input || !list) return;
    function apply() {
      var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var wanted = family ? family.value : "";
      var shown = 0;
      list.querySelectorAll("li[data-text]").forEach(function (item) {
        var text = item.getAttribute("data-text");
        var fams = (item.getAttribute("data-families") || "").split(" ");
        var ok = terms.every(function (t) { return text.indexOf(t) !== -1; }) &&
          (!wanted || fams.indexOf(wanted) !== -1);
        item.hidden = !ok;
        if (ok) shown += 1;
      });
      if (count) count.textContent = String(shown);
    }
    input.addEventListener("input", apply);
    if (family) family.addEventListener("change", apply);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
