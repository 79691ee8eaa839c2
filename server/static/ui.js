// Shipyard tracking UI: sortable tables, quick filters, selections, and uPlot charts of the
// downsampled series the server embeds. Handwritten, vanilla; the only library is vendored uPlot.
(function () {
  "use strict";
  var prefix = document.body.getAttribute("data-prefix") || "";
  // MLflow's client prints links like /#/experiments/2/runs/<id>: send them to our pages.
  var legacy = /^#\/experiments\/(\w+)(?:\/runs\/(\w+))?/.exec(window.location.hash);
  if (legacy && window.location.pathname === prefix + "/") {
    window.location.replace(prefix + (legacy[2] ? "/ui/runs/" + legacy[2] : "/ui/experiments/" + legacy[1]));
    return;
  }
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };

  // --- tables ---------------------------------------------------------------------------------
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    var raw = cell.getAttribute("data-sort");
    var text = raw !== null ? raw : cell.textContent.trim();
    var number = parseFloat(text);
    return text !== "" && !isNaN(number) && isFinite(text) ? number : text.toLowerCase();
  }
  function sortTable(table, index, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    each(th.parentNode.cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      if (x === "" && y !== "") return 1;
      if (y === "" && x !== "") return -1;
      if (x < y) return ascending ? -1 : 1;
      if (x > y) return ascending ? 1 : -1;
      return 0;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    if (!table.tHead) return;
    each(table.tHead.rows[0].cells, function (th, index) {
      if (th.classList.contains("nosort")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "th-sort";
      button.textContent = th.textContent;
      button.setAttribute("aria-label", "sort by " + th.textContent);
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () { sortTable(table, index, th); });
    });
  });
  document.querySelectorAll("input.quick-filter").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    if (!table) return;
    input.addEventListener("input", function () {
      var needle = input.value.toLowerCase();
      each(table.tBodies[0].rows, function (row) {
        row.style.display = row.textContent.toLowerCase().indexOf(needle) >= 0 ? "" : "none";
      });
    });
  });
  document.querySelectorAll("label.only-diff input").forEach(function (box) {
    box.addEventListener("change", function () {
      document.getElementById(box.getAttribute("data-table")).classList.toggle("diff-only", box.checked);
    });
  });
  var all = document.getElementById("pick-all");
  if (all) {
    all.addEventListener("change", function () {
      each(document.querySelectorAll("input.pick"), function (p) { p.checked = all.checked; });
    });
  }

  // --- charts ---------------------------------------------------------------------------------
  var PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
  function smooth(values, weight) {
    if (!weight) return values;
    var last = 0, count = 0;
    return values.map(function (v) {
      if (v === null) return null;
      count += 1;
      last = last * weight + (1 - weight) * v;
      return last / (1 - Math.pow(weight, count));  // debiased, as TensorBoard does
    });
  }
  function xsOf(series, mode) {
    if (mode === "step") return series.step;
    var first = series.time.length ? series.time[0] : 0;
    return series.time.map(function (t) { return mode === "time" ? t / 1000 : (t - first) / 1000; });
  }
  function drawCharts(holder, charts, controls) {
    holder.textContent = "";
    var mode = controls.x.value, log = controls.log.checked, weight = parseFloat(controls.smooth.value) || 0;
    charts.forEach(function (chart) {
      var figure = document.createElement("figure");
      figure.className = "chart";
      figure.setAttribute("data-metric", chart.key);
      figure.setAttribute("aria-label", "chart of " + chart.key);
      holder.appendChild(figure);
      var tables = chart.series.map(function (s) {
        var ys = smooth(s.value, weight).map(function (v) { return log && v !== null && v <= 0 ? null : v; });
        return [xsOf(s, mode), ys];
      });
      if (!tables.length) return;
      var data = tables.length === 1 ? tables[0] : uPlot.join(tables);
      var series = [{ label: mode === "step" ? "step" : mode === "time" ? "time" : "seconds" }];
      chart.series.forEach(function (s, i) {
        series.push({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true,
          value: function (u, v) { return v === null || v === undefined ? "—" : v.toPrecision(5); } });
      });
      new uPlot({
        title: chart.key, width: 560, height: 280, series: series,
        scales: { x: { time: mode === "time" }, y: { distr: log ? 3 : 1 } },
        axes: [{ label: series[0].label }, { size: 64 }],
        cursor: { drag: { x: true, y: false } },
      }, data, figure);
    });
  }
  var chartData = document.getElementById("chart-data");
  var holder = document.getElementById("charts");
  if (chartData && holder && window.uPlot) {
    var charts = JSON.parse(chartData.textContent);
    var controls = {
      x: document.querySelector(".chart-x"), log: document.querySelector(".chart-log"),
      smooth: document.querySelector(".chart-smooth"),
    };
    var redraw = function () { drawCharts(holder, charts, controls); };
    [controls.x, controls.log, controls.smooth].forEach(function (c) { c.addEventListener("change", redraw); });
    controls.smooth.addEventListener("input", redraw);
    redraw();
  }
  var scatterData = document.getElementById("scatter-data");
  var scatter = document.getElementById("scatter");
  if (scatterData && scatter && window.uPlot) {
    var points = JSON.parse(scatterData.textContent);
    var pickX = document.getElementById("scatter-x"), pickY = document.getElementById("scatter-y");
    var drawScatter = function () {
      var xs = points.columns[pickX.value], ys = points.columns[pickY.value];
      var pairs = [];
      for (var i = 0; i < xs.length; i++) if (xs[i] !== null && ys[i] !== null) pairs.push([xs[i], ys[i]]);
      pairs.sort(function (a, b) { return a[0] - b[0]; });
      scatter.textContent = "";
      new uPlot({
        title: pickY.value + " vs " + pickX.value, width: 560, height: 320,
        scales: { x: { time: false } },
        series: [{ label: pickX.value }, { label: pickY.value, stroke: PALETTE[0], paths: function () { return null; },
          points: { show: true, size: 9, fill: PALETTE[0] } }],
        axes: [{ label: pickX.value }, { label: pickY.value, size: 64 }],
      }, [pairs.map(function (p) { return p[0]; }), pairs.map(function (p) { return p[1]; })], scatter);
    };
    pickX.addEventListener("change", drawScatter);
    pickY.addEventListener("change", drawScatter);
    drawScatter();
  }
})();
