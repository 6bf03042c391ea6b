// Server-side rendering of one ECharts option to an SVG string (openprm/dashboards/charts.py: render_svg).
// Reads {"option": {...}, "width": n, "height": n} as JSON on stdin, writes the SVG to stdout.
// The same option JSON the dashboards render in the browser, so a PDF shows the chart the page shows.
"use strict";
const echarts = require("echarts");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const { option, width, height } = JSON.parse(input);
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width, height });
  option.animation = false;
  chart.setOption(option);
  process.stdout.write(chart.renderToSVGString());
  chart.dispose();
});
