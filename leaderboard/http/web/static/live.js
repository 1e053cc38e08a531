// Follows a queued or running submission without reloading the page: polls its same-origin
// JSON route and shows the queue position, then the status and the score.
(function () {
  "use strict";
  function fmt(v) { return typeof v === "number" ? v.toFixed(4) : "—"; }
  function show(box, s) {
    var status = document.getElementById("status");
    status.textContent = s.status;
    status.className = "status " + s.status;
    document.getElementById("queue").textContent =
      s.queue_position ? " · position " + s.queue_position + " in the queue" : "";
    if (!s.final) { return false; }
    var score = document.getElementById("live-score");
    if (s.status === "done" && typeof s.mean === "number") {
      score.textContent = "Score " + fmt(s.mean) + (s.ci95 ? " · 95% CI [" + s.ci95[0].toFixed(3) + ", " +
        s.ci95[1].toFixed(3) + "]" : "") + (s.metric ? " · " + s.metric : "");
      var table = document.getElementById("live-tasks");
      var body = table.querySelector("tbody");
      Object.keys(s.task_means).forEach(function (task) {
        var tr = document.createElement("tr");
        var a = document.createElement("td");
        var b = document.createElement("td");
        a.textContent = task;
        b.textContent = fmt(s.task_means[task]);
        tr.appendChild(a);
        tr.appendChild(b);
        body.appendChild(tr);
      });
      table.hidden = Object.keys(s.task_means).length === 0;
    } else if (s.status === "done") {
      score.textContent = "Scored: its place is on the board.";
    } else {
      score.textContent = "The job ended " + s.status + (s.error ? ": " + s.error : "") + ".";
    }
    document.getElementById("live-note").textContent = "The job has finished.";
    document.getElementById("live-more").hidden = false;
    box.dataset.final = s.status;
    return true;
  }
  function poll(box, wait) {
    fetch(box.dataset.src, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (!show(box, s)) { setTimeout(function () { poll(box, Math.min(wait * 1.5, 5000)); }, wait); }
      })
      .catch(function () { setTimeout(function () { poll(box, 5000); }, 5000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("live");
    if (box) { poll(box, 500); }
  });
})();
