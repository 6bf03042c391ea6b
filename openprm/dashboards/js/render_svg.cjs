// Server-side rendering of ECharts options to SVG strings (openprm/dashboards/charts.py).
// The same option JSON the dashboards render in the browser, so a PDF shows the chart the page shows.
//
// One-shot (charts.render_svg_once): reads {"option": {...}, "width": n, "height": n} as JSON on stdin,
// writes the SVG to stdout.
// Long-lived (`--serve`, charts.Renderer): reads one request per line on stdin,
// {"id": n, "option": {...}, "width": n, "height": n}, and answers each with one line on stdout,
// {"id": n, "svg": "..."} or {"id": n, "error": "..."}; a failed chart does not end the process. It ends
// when stdin closes.
"use strict";
const echarts = require("echarts");

// zrender numbers the CSS classes of an SVG (zr0-cls-0, -1, …) with one counter per process, which no
// option resets: a chart's classes are numbered from where the previous chart stopped. Numbered from 0
// again, they are the one-shot's (the first chart of its process).
function firstClasses(svg) {
  const found = svg.match(/zr0-cls-\d+/g);
  if (!found) return svg;
  const first = Math.min(...found.map((name) => Number(name.slice(8))));
  return first === 0 ? svg : svg.replace(/zr0-cls-(\d+)/g, (_, n) => "zr0-cls-" + (Number(n) - first));
}

function render({ option, width, height }) {
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width, height });
  try {
    // zrender numbers its SVG painters per process (zr0, zr1, …) and prefixes the SVG's ids with that
    // number: every chart takes the first one's, so a long-lived renderer writes the one-shot's SVG.
    chart.getZr().painter._id = "zr0";
    option.animation = false;
    chart.setOption(option);
    return firstClasses(chart.renderToSVGString());
  } finally {
    chart.dispose();
  }
}

function serve() {
  // stdout carries the answers only: anything a library logs goes to stderr
  console.log = console.info = console.debug = (...args) => console.error(...args);
  const lines = require("readline").createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on("line", (line) => {
    if (!line.trim()) return;
    let id = null;
    let answer;
    try {
      const request = JSON.parse(line);
      id = request.id === undefined ? null : request.id;
      answer = { id, svg: render(request) };
    } catch (error) {
      answer = { id, error: String((error && error.stack) || error).slice(0, 2000) };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
  });
}

function once() {
  let input = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => { input += chunk; });
  process.stdin.on("end", () => { process.stdout.write(render(JSON.parse(input))); });
}

if (process.argv.includes("--serve")) serve();
else once();
