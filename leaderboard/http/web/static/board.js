// Leaderboard tables: click a heading to sort by it (again to reverse); per-task columns can be
// shown or hidden. Cells sort by their data-value when they carry one, else by their text.
(function () {
  "use strict";
  function key(cell, numeric) {
    if (!cell) { return numeric ? NaN : ""; }
    var raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
    return numeric ? parseFloat(raw) : raw.toLowerCase();
  }
  function sortBy(table, index, th) {
    var numeric = th.dataset.type === "num";
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.cells.length > 1; });
    var sign = dir === "ascending" ? 1 : -1;
    rows.sort(function (a, b) {
      var x = key(a.cells[index], numeric), y = key(b.cells[index], numeric);
      if (numeric) {
        if (isNaN(x) && isNaN(y)) { return 0; }
        if (isNaN(x)) { return 1; }  // empty cells last either way
        if (isNaN(y)) { return -1; }
        return sign * (x - y);
      }
      return sign * (x < y ? -1 : x > y ? 1 : 0);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function sortable(table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, index, th); });
    });
  }
  function picker(table) {
    var heads = table.querySelectorAll("th[data-col]");
    if (!heads.length) { return; }
    var box = document.createElement("fieldset");
    box.className = "columns-picker";
    var legend = document.createElement("legend");
    legend.textContent = "Per-task columns";
    box.appendChild(legend);
    Array.prototype.forEach.call(heads, function (th) {
      var col = th.dataset.col;
      var label = document.createElement("label");
      var input = document.createElement("input");
      input.type = "checkbox";
      input.checked = true;
      input.dataset.col = col;
      input.addEventListener("change", function () {
        Array.prototype.forEach.call(table.querySelectorAll("[data-col]"), function (cell) {
          if (cell.dataset.col === col) { cell.classList.toggle("hide-col", !input.checked); }
        });
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + th.textContent.trim()));
      box.appendChild(label);
    });
    table.parentNode.parentNode.insertBefore(box, table.parentNode);
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (t) {
      sortable(t);
      picker(t);
    });
  });
})();
