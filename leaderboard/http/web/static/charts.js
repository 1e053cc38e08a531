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
      numbers(document.getElementById("heatmap-table"), "A[t, s]: training sets (rows) on public test sets",
        ["training set"].concat(m.test.map(function (t) { return t.label + (t.in_suite ? " *" : ""); })),
        m.train.map(function (t, i) { return [t.label].concat(m.values[i].map(fmt)); }));
      el.dataset.cells = String(m.values.reduce(function (n, row) {
        return n + row.filter(function (v) { return v !== null; }).length;
      }, 0));
    }).catch(function (e) { empty(el, String(e)); });
  }
  // An axis range that fits the finite values with a margin (never the 1.5 .. -0.6 that a
  // single point gets by default); values inside [0, 1] keep the range inside [0, 1].
  function fit(values) {
    var v = values.filter(function (x) { return typeof x === "number" && isFinite(x); });
    if (!v.length) { return null; }
    var lo = Math.min.apply(null, v), hi = Math.max.apply(null, v);
    var pad = Math.max((hi - lo) * 0.1, 0.02);
    var range = [lo - pad, hi + pad];
    if (lo >= 0 && hi <= 1) { range = [Math.max(0, range[0]), Math.min(1, range[1])]; }
    return range;
  }
  function timeRange(times) {
    var t = times.map(function (x) { return Date.parse(x); }).filter(isFinite);
    var lo = Math.min.apply(null, t), hi = Math.max.apply(null, t);
    var pad = Math.max((hi - lo) * 0.05, 60000);
    return [new Date(lo - pad).toISOString(), new Date(hi + pad).toISOString()];
  }
  function fmt(v) { return typeof v === "number" ? v.toFixed(4) : "—"; }
  // A plain table of the numbers a chart shows (its text alternative), built as text nodes.
  function numbers(box, caption, head, rows) {
    if (!box) { return; }
    var table = document.createElement("table");
    table.className = "board";
    var cap = document.createElement("caption");
    cap.textContent = caption;
    table.appendChild(cap);
    var thead = table.createTHead().insertRow();
    head.forEach(function (h) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = h;
      thead.appendChild(th);
    });
    var body = table.createTBody();
    rows.forEach(function (r) {
      var tr = body.insertRow();
      r.forEach(function (v) { tr.insertCell().textContent = v; });
    });
    box.textContent = "";
    box.appendChild(table);
  }
  function history(el) {
    getJSON(el.dataset.src).then(function (h) {
      if (!h.events.length) { empty(el, "No ratchet step yet."); return; }
      var ev = h.events;
      var x = ev.map(function (e) { return e.at; });
      var bar = ev.map(function (e) { return e.bar; });
      var best = ev.map(function (e) { return e.best_score; });
      var accepted = ev.filter(function (e) { return e.kind === "accept"; });
      var traces = [
        { x: x, y: bar, name: "bar (easiest suite member's difficulty)", mode: "lines+markers",
          line: { shape: "hv" }, hovertemplate: "%{x}<br>bar %{y:.4f}<extra></extra>" },
        { x: x, y: best, name: "best training-set score (" + esc(h.metric) + ")", mode: "lines+markers",
          line: { shape: "hv", dash: "dot" }, yaxis: "y2", hovertemplate: "%{x}<br>best %{y:.4f}<extra></extra>" },
      ];
      if (accepted.length) {
        traces.push({ x: accepted.map(function (e) { return e.at; }), y: accepted.map(function (e) { return e.bar; }),
          name: "test set accepted", mode: "markers", marker: { symbol: "star", size: 12 },
          hovertemplate: "%{x}<br>test set accepted; bar %{y:.4f}<extra></extra>" });
      }
      var yr = fit(bar), y2r = fit(best);
      Plotly.newPlot(el, traces, {
        margin: { l: 60, r: 60, t: 10, b: 60 }, legend: { orientation: "h", y: -0.25 },
        xaxis: { type: "date", range: timeRange(x), title: { text: "time (UTC)" } },
        yaxis: { title: { text: "bar (difficulty)" }, range: yr || [0, 1], autorange: false },
        yaxis2: { title: { text: esc(h.metric) }, overlaying: "y", side: "right", range: y2r || [0, 1],
          autorange: false },
      }, { responsive: true, displaylogo: false });
      el.dataset.events = String(ev.length);
      numbers(document.getElementById("history-table"), "Ratchet history: " + ev.length + " event(s)",
        ["time", "event", "bar", "best " + h.metric], ev.map(function (e) {
          return [e.at.replace("T", " ").slice(0, 19), e.kind, fmt(e.bar), fmt(e.best_score)];
        }));
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
  // A kind's curve chart (its series, the baselines' dashed, its bars dotted), axes fit to the data.
  function curve(el) {
    var c = JSON.parse(el.dataset.chart);
    var traces = [], xs = [], ys = [];
    c.series.forEach(function (s) {
      traces.push({ x: s.x, y: s.y, name: esc(s.name), mode: "lines+markers", line: { shape: "hv" },
        hovertemplate: esc(s.name) + "<br>" + esc(c.x) + " %{x:.3f}<br>" + esc(c.y) + " %{y:.4f}<extra></extra>" });
      xs = xs.concat(s.x); ys = ys.concat(s.y);
    });
    (c.baselines || []).forEach(function (s) {
      traces.push({ x: s.x, y: s.y, name: esc(s.name), mode: "lines", line: { shape: "hv", dash: "dash" },
        hovertemplate: esc(s.name) + "<br>" + esc(c.x) + " %{x:.3f}<br>" + esc(c.y) + " %{y:.4f}<extra></extra>" });
      xs = xs.concat(s.x); ys = ys.concat(s.y);
    });
    var xr = fit(xs.concat([0])) || [0, 1];
    c.bars.forEach(function (b) {
      traces.push({ x: xr, y: [b.y, b.y], name: esc(b.name), mode: "lines", line: { dash: "dot" },
        hovertemplate: esc(b.name) + ": %{y:.4f}<extra></extra>" });
      ys.push(b.y);
    });
    Plotly.newPlot(el, traces, {
      margin: { l: 60, r: 20, t: 10, b: 60 }, legend: { orientation: "h", y: -0.25 },
      xaxis: { title: { text: esc(c.x) }, range: xr, autorange: false },
      yaxis: { title: { text: esc(c.y) }, range: fit(ys) || [0, 1], autorange: false },
    }, { responsive: true, displaylogo: false });
    el.dataset.drawn = "1";
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".curve-chart"), curve);
    var hm = document.getElementById("heatmap");
    var hi = document.getElementById("history");
    if (hm) { heatmap(hm); }
    if (hi) { history(hi); }
    Array.prototype.forEach.call(document.querySelectorAll(".matrix-chart"), matrix);
  });
})();
