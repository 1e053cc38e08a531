"""What changed between two submissions to one challenge, and what it did to the score.

:func:`diff_submissions` validates both files, asks the challenge's kind how its submissions
differ (:meth:`~dataperf.contract.ChallengeKind.diff`: rows added, removed and relabelled per
task for a rows-and-labels kind; rank changes, counts per seller or changes per stage for
others), scores both locally with the same seeds, and returns one JSON-ready document: the
command line prints it (``dataperf diff``) and a web page can render the same thing.

The document's ``changes`` is the kind's diff: a ``summary`` (counts) and ``tables`` (each
``{"title", "columns", "rows"}``, as everywhere else). ``scores`` holds, per task and overall,
both means and the paired difference B - A over the seeds with its 95% Student-t interval: the
two submissions are scored with the same seeds, so the seed-to-seed noise they share cancels.

This module needs neither the server nor its extras.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from dataperf.contract import ChallengeSpec, Result
    from dataperf.data.prepared import PreparedData


@dataclass(frozen=True)
class Side:
    """One of the two submissions being compared: its file and what to call it."""

    path: Path
    name: str
    """How the document names it: the file's name, or ``submission N`` when it came from a server."""


def diff_submissions(
    spec: ChallengeSpec, a: Side | Path, b: Side | Path, *, data: PreparedData | None = None, score: bool = True
) -> dict[str, Any]:
    """Return what changed from submission ``a`` to ``b`` (both files of ``spec``'s schema).

    Both are validated first (SubmissionError if either is refused, naming its file); ``data``
    is the prepared data to check and score with (default: :func:`dataperf.evaluator.load_data`).
    Without ``score`` only the kind's diff is computed.
    """
    from dataperf.evaluator import evaluate, load_data, validate
    from dataperf.kinds import kind_of

    sa, sb = (s if isinstance(s, Side) else Side(s, s.name) for s in (a, b))
    data = data or load_data(spec)
    parsed = [validate(spec, s.path, data) for s in (sa, sb)]
    doc: dict[str, Any] = {
        "challenge": spec.id,
        "version": spec.version,
        "kind": spec.kind,
        "data_bundle": data.bundle,
        "a": {"name": sa.name, "sha256": parsed[0].sha256, "rows": len(parsed[0].table)},
        "b": {"name": sb.name, "sha256": parsed[1].sha256, "rows": len(parsed[1].table)},
        "changes": kind_of(spec).diff(spec, parsed[0].table, parsed[1].table),
    }
    if score:
        ra, rb = (evaluate(spec, s.path, data=data) for s in (sa, sb))
        doc["scores"] = paired_scores(ra, rb)
    return doc


def paired_scores(a: Result, b: Result) -> dict[str, Any]:
    """Return both results' means per task and overall, and the paired difference B - A over
    their common seeds with its 95% interval (``better``: whether B beats A by the metric's
    direction, None when the interval holds 0)."""
    from dataperf.evaluator import confidence_interval

    seeds = [s for s in a.provenance.seeds if s in set(b.provenance.seeds)]
    tasks = [t for t in a.scores if t in b.scores]

    def entry(per_a: dict[int, float], per_b: dict[int, float]) -> dict[str, Any]:
        deltas = [per_b[s] - per_a[s] for s in seeds]
        mean_a = sum(per_a[s] for s in seeds) / len(seeds)
        mean_b = sum(per_b[s] for s in seeds) / len(seeds)
        ci = confidence_interval(deltas)
        return {
            "a": mean_a,
            "b": mean_b,
            "delta": mean_b - mean_a,
            "ci95": ci,
            "better": _better(ci, a.direction),
            "per_seed": {str(s): d for s, d in zip(seeds, deltas, strict=True)},
        }

    per_task = {t: entry(a.scores[t], b.scores[t]) for t in tasks}
    overall_a = {s: sum(a.scores[t][s] for t in tasks) / len(tasks) for s in seeds}
    overall_b = {s: sum(b.scores[t][s] for t in tasks) / len(tasks) for s in seeds}
    return {
        "metric": a.metric,
        "direction": a.direction,
        "seeds": seeds,
        "tasks": per_task,
        "overall": entry(overall_a, overall_b),
    }


def _better(ci: tuple[float, float] | None, direction: str) -> bool | None:
    """Return True when the interval says B is better, False when worse, None when it holds 0."""
    if ci is None or ci[0] <= 0.0 <= ci[1]:
        return None
    up = ci[0] > 0.0
    return up if direction == "max" else not up


# --- the default diff of a rows-and-labels submission, and helpers kinds use in their own ---


def rows_and_labels(
    frame_a: pd.DataFrame,
    frame_b: pd.DataFrame,
    *,
    group: str | None,
    key: str = "id",
    label: str | None = None,
    group_title: str = "task",
) -> dict[str, Any]:
    """Return the diff of two tables of rows (``key``) per ``group`` (a task, a stage; None:
    one group), with a ``label`` column when the rows are labelled: rows added, removed and
    relabelled per group and, with labels, the class balance before and after."""
    groups = _groups(frame_a, frame_b, group)
    rows_table: list[list[object]] = []
    balance: list[list[object]] = []
    totals = {"added": 0, "removed": 0, "relabelled": 0, "kept": 0}
    for g in groups:
        ga, gb = _part(frame_a, group, g), _part(frame_b, group, g)
        ia, ib = set(ga[key].tolist()), set(gb[key].tolist())
        added, removed, kept = len(ib - ia), len(ia - ib), ia & ib
        relabelled = 0
        if label is not None and kept:
            la = dict(zip(ga[key].tolist(), ga[label].tolist(), strict=True))
            lb = dict(zip(gb[key].tolist(), gb[label].tolist(), strict=True))
            relabelled = sum(1 for i in kept if la[i] != lb[i])
            counts_a, counts_b = ga[label].value_counts(), gb[label].value_counts()
            for c in sorted(set(counts_a.index) | set(counts_b.index)):
                na, nb = int(counts_a.get(c, 0)), int(counts_b.get(c, 0))
                balance.append([g, _plain(c), na, _share(na, len(ga)), nb, _share(nb, len(gb)), nb - na])
        totals["added"] += added
        totals["removed"] += removed
        totals["relabelled"] += relabelled
        totals["kept"] += len(kept)
        row: list[object] = [g, len(ga), len(gb), added, removed]
        if label is not None:
            row.append(relabelled)
        rows_table.append(row)
    cols = [group_title, "rows A", "rows B", "added", "removed"] + (["relabelled"] if label is not None else [])
    tables = [{"title": f"Rows per {group_title}", "columns": cols, "rows": rows_table}]
    if label is not None:
        tables.append(
            {
                "title": f"Class balance per {group_title}",
                "columns": [group_title, label, "A", "A share", "B", "B share", "change"],
                "rows": balance,
            }
        )
    return {"summary": totals, "tables": tables}


def counts(frame_a: pd.DataFrame, frame_b: pd.DataFrame, *, key: str, value: str) -> dict[str, Any]:
    """Return the diff of two tables that give one number (``value``) per ``key`` (a seller's
    count): per key, A, B and the change, with the totals."""
    va = dict(zip(frame_a[key].tolist(), frame_a[value].tolist(), strict=True))
    vb = dict(zip(frame_b[key].tolist(), frame_b[value].tolist(), strict=True))
    keys = sorted(set(va) | set(vb), key=str)
    rows: list[list[object]] = [
        [k, _plain(va.get(k, 0)), _plain(vb.get(k, 0)), _plain(vb.get(k, 0) - va.get(k, 0))] for k in keys
    ]
    changed = sum(1 for r in rows if r[3] != 0)
    total_a, total_b = _plain(sum(va.values())), _plain(sum(vb.values()))
    return {
        "summary": {"changed": changed, f"{value} A": total_a, f"{value} B": total_b},
        "tables": [{"title": f"{value.capitalize()} per {key}", "columns": [key, "A", "B", "change"], "rows": rows}],
    }


def rankings(
    frame_a: pd.DataFrame, frame_b: pd.DataFrame, *, rank: str, key: str, top: Sequence[int] = ()
) -> dict[str, Any]:
    """Return the diff of two rankings of rows (``key`` ordered by ``rank``): rows only one of
    them ranks, how many moved up or down, the Spearman correlation over the rows both rank,
    the overlap of their first ``top`` rows (default: 10, 50, 100 and 10% of the rows) and the
    largest moves."""
    import numpy as np

    oa = frame_a.sort_values(rank)[key].tolist()
    ob = frame_b.sort_values(rank)[key].tolist()
    pa = {i: n + 1 for n, i in enumerate(oa)}
    pb = {i: n + 1 for n, i in enumerate(ob)}
    both = [i for i in oa if i in pb]
    moves = [(i, pa[i], pb[i], pa[i] - pb[i]) for i in both]
    up = sum(1 for m in moves if m[3] > 0)
    down = sum(1 for m in moves if m[3] < 0)
    rho = None
    if len(both) > 1:
        ra = np.array([pa[i] for i in both]).argsort().argsort().astype(np.float64)
        rb = np.array([pb[i] for i in both]).argsort().argsort().astype(np.float64)
        if ra.std() > 0 and rb.std() > 0:
            rho = float(np.corrcoef(ra, rb)[0, 1])
    n = max(len(oa), len(ob))
    cuts = sorted({k for k in (*(top or (10, 50, 100)), max(1, n // 10)) if 0 < k <= n})
    overlap = [[k, len(set(oa[:k]) & set(ob[:k])), _share(len(set(oa[:k]) & set(ob[:k])), k)] for k in cuts]
    largest = sorted(moves, key=lambda m: (-abs(m[3]), m[1]))[:10]
    return {
        "summary": {
            "only_a": len(set(oa) - set(ob)),
            "only_b": len(set(ob) - set(oa)),
            "moved_up": up,
            "moved_down": down,
            "unchanged": len(both) - up - down,
            "spearman": rho,
        },
        "tables": [
            {"title": "Overlap of the first rows inspected", "columns": ["first", "in both", "share"], "rows": overlap},
            {
                "title": "Largest moves (positive: inspected earlier in B)",
                "columns": [key, "rank A", "rank B", "moved"],
                "rows": [[_plain(i), a, b, d] for i, a, b, d in largest],
            },
        ],
    }


def _groups(frame_a: pd.DataFrame, frame_b: pd.DataFrame, group: str | None) -> list[Any]:
    if group is None:
        return ["(all)"]
    return sorted(set(frame_a[group].tolist()) | set(frame_b[group].tolist()), key=str)


def _part(frame: pd.DataFrame, group: str | None, value: object) -> pd.DataFrame:
    return frame if group is None else frame[frame[group] == value]


def _share(n: int, total: int) -> float:
    return round(n / total, 4) if total else 0.0


def _plain(value: Any) -> Any:
    """Return ``value`` as a plain Python number or string (JSON-ready)."""
    return value.item() if hasattr(value, "item") else value
