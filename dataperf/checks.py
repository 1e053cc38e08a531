"""Reusable submission invariants; each returns every violation it finds."""

from __future__ import annotations

import difflib

import numpy as np

from dataperf.contract import ChallengeSpec, ParsedSubmission
from dataperf.data.prepared import Split
from dataperf.errors import Violation


def unknown_tasks(spec: ChallengeSpec, sub: ParsedSubmission) -> list[Violation]:
    """Rows whose task is not one of the challenge's tasks."""
    names = [t.name for t in spec.tasks]
    tasks = sub.table["task"].to_numpy(dtype=object)
    out = []
    for i in np.flatnonzero(~np.isin(tasks, names)):
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
    dup = sub.table.duplicated(subset=keys, keep="first").to_numpy()
    if not dup.any():
        return []
    first = sub.table.reset_index().groupby(keys, sort=False)["index"].transform("min").to_numpy()
    what = "+".join(keys)
    return [
        Violation(sub.path.name, int(sub.rows[i]), keys[-1], f"duplicate {what}: same as row {int(sub.rows[first[i]])}")
        for i in np.flatnonzero(dup)
    ]


def task_budgets(spec: ChallengeSpec, sub: ParsedSubmission) -> list[Violation]:
    """One violation per task with too many rows, and per task with none."""
    counts = sub.table["task"].value_counts()
    out = []
    for t in spec.tasks:
        n = int(counts.get(t.name, 0))
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
    tasks = sub.table["task"].to_numpy(dtype=object)
    labels = sub.table["label"].to_numpy(dtype=np.int64)
    for t in spec.tasks:
        domain = spec.task_labels(t)
        bad = np.flatnonzero((tasks == t.name) & ~np.isin(labels, domain))
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
