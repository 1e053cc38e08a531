"""Reusable submission invariants; each returns every violation it finds."""

from __future__ import annotations

import difflib

import numpy as np

from dataperf.contract import ChallengeSpec, ParsedSubmission
from dataperf.data.prepared import Split
from dataperf.errors import Violation


def _codes(values: np.ndarray, known: dict[object, int] | None = None) -> np.ndarray:
    """Return an int64 code per value: its index in ``known`` (-1 if absent), or, without
    ``known``, the order of first appearance (one dictionary lookup per value: far cheaper
    than sorting an object column)."""
    if known is None:
        known = {}
        return np.fromiter((known.setdefault(v, len(known)) for v in values.tolist()), np.int64, len(values))
    return np.fromiter((known.get(v, -1) for v in values.tolist()), np.int64, len(values))


def task_codes(spec: ChallengeSpec, sub: ParsedSubmission) -> np.ndarray:
    """Return each row's task as its index in ``spec.tasks`` (-1: not a task of the challenge)."""
    return _codes(sub.table["task"].to_numpy(dtype=object), {t.name: i for i, t in enumerate(spec.tasks)})


def unknown_tasks(spec: ChallengeSpec, sub: ParsedSubmission) -> list[Violation]:
    """Rows whose task is not one of the challenge's tasks."""
    names = [t.name for t in spec.tasks]
    tasks = sub.table["task"].to_numpy(dtype=object)
    out = []
    for i in np.flatnonzero(task_codes(spec, sub) < 0):
        close = difflib.get_close_matches(str(tasks[i]), names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        out.append(
            Violation(
                sub.path.name, int(sub.rows[i]), "task", f"unknown task {tasks[i]!r} (tasks: {', '.join(names)}){hint}"
            )
        )
    return out


def ids_in_split(sub: ParsedSubmission, split: Split, what: str) -> list[Violation]:
    """Rows whose id is not in ``split``."""
    ids = sub.table["id"].to_numpy(dtype=np.int64)
    bad = np.flatnonzero(~split.contains(ids))
    return [Violation(sub.path.name, int(sub.rows[i]), "id", f"id {int(ids[i])} is not in the {what}") for i in bad]


def duplicates(sub: ParsedSubmission, keys: list[str]) -> list[Violation]:
    """Rows that repeat an earlier row's ``keys``."""
    n = len(sub.table)
    cols = []
    for k in keys:
        v = sub.table[k].to_numpy()
        if v.dtype.kind in "iub":
            cols.append(v.astype(np.int64))
        elif v.dtype.kind == "f":  # equal numbers (NaNs among them) share a code
            cols.append(np.unique(v, return_inverse=True)[1].reshape(-1).astype(np.int64))
        else:
            cols.append(_codes(v.astype(object)))
    order = np.lexsort(cols[::-1]) if n else np.empty(0, dtype=np.int64)  # stable: ties keep row order
    same = np.ones(max(n - 1, 0), dtype=bool)
    for c in cols:
        same &= c[order][1:] == c[order][:-1]
    if not same.any():
        return []
    starts = np.concatenate([[0], np.flatnonzero(~same) + 1]) if n else np.empty(0, dtype=np.int64)
    group = np.cumsum(np.concatenate([[False], ~same]))  # each sorted row's group
    first = np.empty(n, dtype=np.int64)
    first[order] = order[starts[group]]  # a row's group's earliest row
    dup = first != np.arange(n)
    what = "+".join(keys)
    return [
        Violation(sub.path.name, int(sub.rows[i]), keys[-1], f"duplicate {what}: same as row {int(sub.rows[first[i]])}")
        for i in np.flatnonzero(dup)
    ]


def task_budgets(spec: ChallengeSpec, sub: ParsedSubmission) -> list[Violation]:
    """One violation per task with too many rows, and per task with none."""
    codes = task_codes(spec, sub)
    counts = np.bincount(codes[codes >= 0], minlength=len(spec.tasks))
    out = []
    for i, t in enumerate(spec.tasks):
        n = int(counts[i])
        budget = spec.task_budget(t)
        if n == 0:
            out.append(
                Violation(sub.path.name, None, "task", f"task '{t.name}' has no rows (every task needs at least one)")
            )
        elif n > budget:
            out.append(Violation(sub.path.name, None, "task", f"task '{t.name}' has {n} rows; its budget is {budget}"))
    return out


def label_domain(spec: ChallengeSpec, sub: ParsedSubmission) -> list[Violation]:
    """Rows whose label is outside their task's label domain."""
    out = []
    codes = task_codes(spec, sub)
    labels = sub.table["label"].to_numpy(dtype=np.int64)
    for ti, t in enumerate(spec.tasks):
        domain = spec.task_labels(t)
        bad = np.flatnonzero((codes == ti) & ~np.isin(labels, domain))
        allowed = f"{domain[0]}..{domain[-1]}" if len(domain) > 2 else " or ".join(map(str, domain))
        out += [
            Violation(
                sub.path.name,
                int(sub.rows[i]),
                "label",
                f"label {int(labels[i])} is not a label of task '{t.name}' ({allowed})",
            )
            for i in bad
        ]
    return out


def two_classes(spec: ChallengeSpec, sub: ParsedSubmission) -> list[Violation]:
    """One violation per task whose rows all carry one label (a model learns nothing from them)."""
    out = []
    for t in spec.tasks:
        labels = sub.table.loc[sub.table["task"] == t.name, "label"].unique()
        if len(labels) == 1:
            out.append(
                Violation(
                    sub.path.name,
                    None,
                    "label",
                    f"task '{t.name}' has rows of one class only (every label is {int(labels[0])}): "
                    "a training set needs at least two classes",
                )
            )
    return out
