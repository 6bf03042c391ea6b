// The deals board: move cards between stages by drag and drop or with the keyboard.
// Cards are focusable; Enter (or their "Move…" button) opens a dialog to pick the stage. Closed lost asks
// for the reason in the same dialog. Moves post to the deal's stage view with the board's filters; the
// answer is the re-rendered board, swapped into #results. Event delegation: the board is replaced by
// HTMX swaps, so nothing is bound to its elements. No inline script (CSP script-src 'self').
(function () {
  "use strict";

  var dragged = null; // the card being dragged

  function board() { return document.getElementById("deal-board"); }
  function dialog() { return document.getElementById("board-move"); }
  function cardOf(node) { return node && node.closest ? node.closest(".deal-card[data-move-url]") : null; }
  function columnOf(node) { return node && node.closest ? node.closest(".board-col") : null; }

  function move(card, stage, lostReason) {
    var target = document.getElementById("results");
    var filters = document.getElementById("filters");
    var body = filters ? new FormData(filters) : new FormData();
    body.set("view", "board");
    body.set("from", "board");
    body.set("stage", stage);
    body.set("lost_reason", lostReason || "");
    var focusId = card.id;
    card.classList.add("moving");
    return fetch(card.getAttribute("data-move-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": board().getAttribute("data-csrf"), "HX-Request": "true" }
    }).then(function (response) {
      return response.text().then(function (html) {
        if (!response.ok && response.status !== 200) { throw new Error("HTTP " + response.status); }
        target.innerHTML = html;
        if (window.htmx) { window.htmx.process(target); }
        var moved = document.getElementById(focusId);
        if (moved) { moved.focus(); }
        var status = document.getElementById("board-status");
        if (status && moved) {
          var col = columnOf(moved);
          status.textContent = (moved.getAttribute("data-name") || "Deal") + " moved to " +
            (col ? col.getAttribute("data-stage-name") : stage) + ".";
        }
      });
    }).catch(function () {
      card.classList.remove("moving");
      var status = document.getElementById("board-status");
      if (status) { status.textContent = "The move did not go through. Reload the page and try again."; }
    });
  }

  function showLost(show) {
    var lost = document.getElementById("board-move-lost");
    if (lost) { lost.hidden = !show; }
  }

  function openDialog(card, stage) {
    var d = dialog();
    if (!d || !card) { return; }
    d.setAttribute("data-card", card.id);
    d.querySelector("[data-move-name]").textContent = card.getAttribute("data-name") || "deal";
    var select = document.getElementById("board-move-stage");
    var current = columnOf(card);
    select.value = stage || (current ? current.getAttribute("data-stage") : select.value);
    document.getElementById("board-move-reason").value = "";
    var error = document.getElementById("board-move-error");
    error.hidden = true;
    error.textContent = "";
    showLost(select.selectedOptions[0] && select.selectedOptions[0].getAttribute("data-outcome") === "lost");
    d.showModal();
    if (stage) { document.getElementById("board-move-reason").focus(); } else { select.focus(); }
  }

  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "board-move-stage") {
      var option = event.target.selectedOptions[0];
      showLost(option && option.getAttribute("data-outcome") === "lost");
    }
  });

  document.addEventListener("submit", function (event) {
    if (!event.target || event.target.id !== "board-move-form") { return; }
    event.preventDefault();
    var d = dialog();
    var card = document.getElementById(d.getAttribute("data-card"));
    var select = document.getElementById("board-move-stage");
    var option = select.selectedOptions[0];
    var reason = document.getElementById("board-move-reason").value.trim();
    var error = document.getElementById("board-move-error");
    if (option && option.getAttribute("data-outcome") === "lost" && !reason) {
      error.textContent = "Say why the deal was lost.";
      error.hidden = false;
      document.getElementById("board-move-reason").focus();
      return;
    }
    d.close();
    var current = columnOf(card);
    if (card && (!current || current.getAttribute("data-stage") !== select.value)) {
      move(card, select.value, reason);
    } else if (card) {
      card.focus();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-board-move]") : null;
    if (button) { openDialog(cardOf(button)); return; }
    if (event.target.closest && event.target.closest("[data-board-cancel]")) {
      var d = dialog();
      d.close();
      var card = document.getElementById(d.getAttribute("data-card"));
      if (card) { card.focus(); }
    }
  });

  document.addEventListener("keydown", function (event) {
    var card = cardOf(event.target);
    if (!card || event.target !== card) { return; } // keys on the card's link or button keep their meaning
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      openDialog(card);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      var cards = Array.prototype.slice.call(columnOf(card).querySelectorAll(".deal-card[data-move-url]"));
      var next = cards[cards.indexOf(card) + (event.key === "ArrowDown" ? 1 : -1)];
      if (next) { event.preventDefault(); next.focus(); }
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      var columns = Array.prototype.slice.call(board().querySelectorAll(".board-col"));
      var col = columns[columns.indexOf(columnOf(card)) + (event.key === "ArrowRight" ? 1 : -1)];
      var first = col ? col.querySelector(".deal-card[data-move-url]") : null;
      if (first) { event.preventDefault(); first.focus(); }
    }
  });

  document.addEventListener("dragstart", function (event) {
    var card = cardOf(event.target);
    if (!card) { return; }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal"));
    card.classList.add("dragging");
  });

  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    document.querySelectorAll(".board-col.drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
    dragged = null;
  });

  document.addEventListener("dragover", function (event) {
    var col = columnOf(event.target);
    if (!dragged || !col) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".board-col.drop-target").forEach(function (c) {
      if (c !== col) { c.classList.remove("drop-target"); }
    });
    col.classList.add("drop-target");
  });

  document.addEventListener("drop", function (event) {
    var col = columnOf(event.target);
    var card = dragged;
    if (!card || !col) { return; }
    event.preventDefault();
    col.classList.remove("drop-target");
    var stage = col.getAttribute("data-stage");
    if (columnOf(card) === col) { return; }
    if (col.getAttribute("data-outcome") === "lost") {
      openDialog(card, stage); // the reason is asked for only here
    } else {
      move(card, stage, "");
    }
  });
})();
