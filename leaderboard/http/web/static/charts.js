// Draws the train x test heatmap and the ratchet history with plotly.js (served locally).
(function () {
  "use strict";
  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": " + r.status); }
      return r.json();
    });
  }
  // Plotly reads a few HTML tags in labels: show team and file names as plain text instead.
  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function empty(el, text) {
    el.textContent = text;
    el.classList.add("sub");
  }
  function heatmap(el) {
    getJSON(el.dataset.src).then(function (m) {
      if (!m.train.length || !m.test.length) {
        empty(el, "No public cell yet: the matrix fills in as training sets and public test sets arrive.");
        return;
      }
      var trace = {
        type: "heatmap", z: m.values, colorscale: "Viridis", hoverongaps: false,
        x: m.test.map(function (t) { return esc(t.label) + (t.in_suite ? " *" : ""); }),
        y: m.train.map(function (t) { return esc(t.label); }),
        hovertemplate: "train %{y}<br>test %{x}<br>A = %{z:.4f}<extra></extra>",
      };
      Plotly.newPlot(el, [trace], {
        margin: { l: 220, r: 20, t: 10, b: 120 }, yaxis: { autorange: "reversed", automargin: true },
        xaxis: { automargin: true, title: { text: "test sets (* in the suite)" } },
      }, { responsive: true, displaylogo: false });
      el.dataset.cells = String(m.values.reduce(function (n, row) {
        return n + row.filter(function (v) { return v !== null; }).length;
      }, 0));
    }).catch(function (e) { empty(el, String(e)); });
  }
  function history(el) {
    getJSON(el.dataset.src).then(function (h) {
      if (!h.events.length) { empty(el, "No ratchet step yet."); return; }
      var x = h.events.map(function (e) { return e.at; });
      var traces = [
        { x: x, y: h.events.map(function (e) { return e.bar; }), name: "bar (easiest suite member's difficulty)",
          mode: "lines+markers", line: { shape: "hv" } },
        { x: x, y: h.events.map(function (e) { return e.best_score; }), name: "best training-set score",
          mode: "lines+markers", line: { shape: "hv" }, yaxis: "y2" },
      ];
      Plotly.newPlot(el, traces, {
        margin: { l: 60, r: 60, t: 10, b: 60 }, legend: { orientation: "h", y: -0.2 },
        yaxis: { title: { text: "difficulty" } },
        yaxis2: { title: { text: h.metric }, overlaying: "y", side: "right" },
      }, { responsive: true, displaylogo: false });
    }).catch(function (e) { empty(el, String(e)); });
  }
  // A result's matrix table (first column: row labels): a heatmap and one line per column.
  function matrix(el) {
    var t = JSON.parse(el.dataset.table);
    var cols = t.columns.slice(1).map(esc);
    var rows = t.rows.map(function (r) { return esc(r[0]); });
    var z = t.rows.map(function (r) { return r.slice(1); });
    var heat = { type: "heatmap", z: z, x: cols, y: rows, colorscale: "Viridis", zmin: 0, zmax: 1,
      hovertemplate: "%{y} / %{x}: %{z:.4f}<extra></extra>", xaxis: "x", yaxis: "y" };
    var lines = cols.map(function (c, j) {
      return { x: rows, y: z.map(function (r) { return r[j]; }), name: c, mode: "lines+markers",
        xaxis: "x2", yaxis: "y2" };
    });
    Plotly.newPlot(el, [heat].concat(lines), {
      grid: { rows: 1, columns: 2, pattern: "independent" }, margin: { l: 80, r: 20, t: 10, b: 80 },
      yaxis: { autorange: "reversed", title: { text: t.columns[0] } }, xaxis: { title: { text: "measured on" } },
      xaxis2: { title: { text: t.columns[0] } }, yaxis2: { range: [0, 1] },
      legend: { orientation: "h", y: -0.3 },
    }, { responsive: true, displaylogo: false });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var hm = document.getElementById("heatmap");
    var hi = document.getElementById("history");
    if (hm) { heatmap(hm); }
    if (hi) { history(hi); }
    Array.prototype.forEach.call(document.querySelectorAll(".matrix-chart"), matrix);
  });
})();
