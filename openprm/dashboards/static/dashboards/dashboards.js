// Draws every chart of a dashboard page: each [data-chart-url] element fetches its ECharts option as JSON
// (the same option the server renders to SVG for PDFs) and draws it with tooltips and legend toggles.
// No inline script (CSP script-src 'self'): everything the page needs is in data attributes.
(function () {
  "use strict";

  function formatter(unit, axis) {
    if (unit === "percent") {
      return function (v) { return v == null ? "—" : v.toLocaleString(undefined, { maximumFractionDigits: 1 }) + "%"; };
    }
    if (unit === "currency") {
      return function (v) { return v == null ? "—" : v.toLocaleString(undefined, { minimumFractionDigits: 0, maximumFractionDigits: 0 }) + " " + axis; };
    }
    if (unit === "days") {
      return function (v) { return v == null ? "—" : v.toLocaleString(undefined, { maximumFractionDigits: 1 }) + " days"; };
    }
    return function (v) { return v == null ? "—" : v.toLocaleString(); };
  }

  function status(el, text, isError) {
    var p = el.querySelector(".chart-status");
    if (!p) {
      p = document.createElement("p");
      p.className = "muted chart-status";
      el.appendChild(p);
    }
    p.textContent = text;
    p.hidden = !text;
    if (isError) { p.setAttribute("role", "alert"); }
  }

  function draw(el, data) {
    var option = data.option;
    var format = formatter(data.unit, data.axis);
    option.tooltip = Object.assign({}, option.tooltip, { valueFormatter: format });
    var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option, true);
    el.setAttribute("data-chart-ready", "1");
    el.setAttribute("aria-label", (option.title && option.title.text) || "Chart");
    status(el, "");
    return chart;
  }

  function load(el) {
    if (!window.echarts) {
      status(el, "Charts need the chart library: run `make setup` to install it (npm lockfile).", true);
      return;
    }
    fetch(el.getAttribute("data-chart-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.message || ("HTTP " + response.status)); }
          return body;
        });
      })
      .then(function (body) { draw(el, body); })
      .catch(function (error) {
        el.setAttribute("data-chart-ready", "error");
        status(el, "The chart could not be loaded: " + error.message, true);
      });
  }

  function start() {
    var charts = Array.prototype.slice.call(document.querySelectorAll("[data-chart-url]"));
    charts.forEach(load);
    var pending;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        charts.forEach(function (el) {
          var chart = window.echarts && window.echarts.getInstanceByDom(el);
          if (chart) { chart.resize(); }
        });
      }, 150);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
