// Shipyard tracking UI: sortable tables, quick filters, run comparison. Handwritten, no deps.
(function () {
  "use strict";
  // MLflow's client prints links like /#/experiments/2/runs/<id>: send them to our pages.
  var legacy = /^#\/experiments\/(\w+)(?:\/runs\/(\w+))?/.exec(window.location.hash);
  if (legacy && window.location.pathname === "/") {
    window.location.replace(legacy[2] ? "/ui/runs/" + legacy[2] : "/ui/experiments/" + legacy[1]);
    return;
  }
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
    var ascending = !th.classList.contains("asc");
    Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.classList.remove("asc", "desc"); });
    th.classList.add(ascending ? "asc" : "desc");
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
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      if (th.classList.contains("nosort")) return;
      th.addEventListener("click", function () { sortTable(table, index, th); });
    });
  });
  document.querySelectorAll("input.quick-filter").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    if (!table) return;
    input.addEventListener("input", function () {
      var needle = input.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        row.style.display = row.textContent.toLowerCase().indexOf(needle) >= 0 ? "" : "none";
      });
    });
  });
  var button = document.getElementById("compare-button");
  if (button) {
    var picks = document.querySelectorAll("input.pick");
    var update = function () {
      var chosen = Array.prototype.filter.call(picks, function (p) { return p.checked; });
      button.disabled = chosen.length < 2;
    };
    picks.forEach(function (p) { p.addEventListener("change", update); });
    button.addEventListener("click", function () {
      var ids = Array.prototype.filter.call(picks, function (p) { return p.checked; }).map(function (p) { return p.value; });
      if (ids.length) window.location = "/ui/runs/" + ids[0] + "?compare=" + ids.slice(1).join(",");
    });
  }
})();
