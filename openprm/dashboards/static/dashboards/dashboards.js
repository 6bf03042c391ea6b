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

  var LEGEND_ROW = 20; // px a wrapped legend line takes

  function textWidth(text) { return String(text).length * 6.5; } // a 12px system font, roughly

  // Fits a chart to a narrow container (a phone): every legend item shown on wrapping lines instead of
  // pages that hide series, every named category labelled on two lines instead of overlapping, and the
  // subtitle wrapped; the chart grows by the lines it adds. A fresh copy: the option is refitted on resize.
  function fit(el, source, base) {
    var option = JSON.parse(JSON.stringify(source));
    var width = el.clientWidth;
    if (!width || width >= 560) { return option; }
    var extra = 0;
    var grid = option.grid && !Array.isArray(option.grid) ? option.grid : null;
    if (option.title && option.title.subtext && textWidth(option.title.subtext) > width - 16) {
      option.title.subtextStyle = Object.assign({}, option.title.subtextStyle, { width: width - 16, overflow: "break", lineHeight: 15 });
      if (grid) { grid.top = (grid.top || 0) + 16; extra += 16; }
    }
    var legend = option.legend;
    if (legend && legend.show !== false) {
      var names = [];
      (option.series || []).forEach(function (s) {
        if (s.type === "pie") { (s.data || []).forEach(function (d) { names.push(d.name); }); } else { names.push(s.name); }
      });
      var rows = 1, used = 0;
      names.forEach(function (name) {
        var item = 25 + 5 + textWidth(name) + 14;
        if (used && used + item > width - 16) { rows += 1; used = 0; }
        used += item;
      });
      option.legend = Object.assign({}, legend, { type: "plain", itemGap: 14 });
      if (rows > 1) {
        extra += (rows - 1) * LEGEND_ROW;
        if (grid) { grid.bottom = (grid.bottom || 0) + (rows - 1) * LEGEND_ROW; }
      }
    }
    var axis = option.xAxis;
    if (axis && axis.type === "category" && axis.axisLabel && axis.axisLabel.interval === 0 && !axis.axisLabel.rotate) {
      var slot = (width - 60) / Math.max(1, (axis.data || []).length);
      axis.axisLabel = Object.assign({}, axis.axisLabel, { width: Math.max(36, slot - 2), overflow: "break", fontSize: 11, lineHeight: 13 });
      axis.nameGap = (axis.nameGap || 28) + 14;
      if (grid) { grid.bottom = (grid.bottom || 0) + 14; extra += 14; }
    }
    if (extra) { el.style.height = base + extra + "px"; }
    return option;
  }

  function draw(el, data) {
    el._chartData = data;
    el.style.height = ""; // the stylesheet's height, then what the fitted chart adds
    var option = fit(el, data.option, el.clientHeight);
    var format = formatter(data.unit, data.axis);
    option.tooltip = Object.assign({}, option.tooltip, { valueFormatter: format });
    var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option, true);
    chart.resize();
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
          if (chart && el._chartData) { draw(el, el._chartData); }
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
