"""Acquisition baselines: purchase plans built from the public market summary and the buyer's
own set only (a seller's other rows are never read).

- ``random``: the budget split at random (seeded Dirichlet weights) between the sellers;
- ``even``: the budget split evenly between the sellers;
- ``balanced``: the budget split in proportion to each seller's label balance (the entropy of
  its public label shares, 0 for one label, 1 for all labels equally often);
- ``greedy``: buys rows in steps, each step from the seller whose next rows add the most
  rows of the labels bought least so far, weighted by how clean the seller's labels look, per
  currency unit; cleanness is read from the summary's per-label means (wrong labels pull the
  means of two labels together, so a seller's separation between them falls short of the
  cleanest seller's).

Money a seller's share leaves unused (its rows run out, or its price steps) goes to the next
sellers in order of their share.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from baselines import register
from dataperf.contract import ChallengeSpec
from dataperf.data.prepared import PreparedData
from dataperf.kinds.acquisition import BUYER, market, options_of, plan_cost, stock

KIND = ("acquisition",)
STEPS = 40
"""How many steps the greedy baseline splits the budget into (its step size in money)."""


def _table(plan: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"seller": list(plan), "count": [int(n) for n in plan.values()]})


def spend(spec: ChallengeSpec, weights: dict[str, float]) -> dict[str, int]:
    """Return the plan that gives each seller its ``weights`` share of the budget (rows as many
    as that money buys), then spends what is left on the sellers by decreasing weight."""
    sellers, held = options_of(spec).sellers, stock(spec)
    total = sum(weights.values())
    plan = {
        s: sellers[s].price.most_rows(int(spec.budget * w / total) if total > 0 else 0, held[s])
        for s, w in weights.items()
    }
    for s in sorted(weights, key=lambda s: (-weights[s], s)):
        left = spec.budget - plan_cost(spec, plan)
        price = sellers[s].price
        plan[s] = price.most_rows(price.cost(plan[s]) + left, held[s])
    return plan


def balance(shares: list[float]) -> float:
    """Return the normalised entropy of label shares (0: one label, 1: all labels alike)."""
    p = np.asarray([v for v in shares if v > 0], dtype=np.float64)
    if len(shares) < 2 or len(p) == 0:
        return 0.0
    return float(-(p * np.log(p)).sum() / np.log(len(shares)))


@register("random", KIND, "the budget split between the sellers at random (seeded)")
def random_split(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return a plan spending random shares of the budget."""
    names = list(options_of(spec).sellers)
    w = np.random.default_rng(seed).dirichlet(np.ones(len(names)))
    return _table(spend(spec, dict(zip(names, w.tolist(), strict=True))))


@register("even", KIND, "the budget split evenly between the sellers")
def even(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return a plan spending an equal share of the budget on every seller."""
    return _table(spend(spec, dict.fromkeys(options_of(spec).sellers, 1.0)))


@register("balanced", KIND, "the budget split in proportion to each seller's label balance")
def balanced(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return a plan spending in proportion to the entropy of each seller's public label shares."""
    summary = market(data)
    return _table(spend(spec, {s["name"]: balance(s["label_share"]) for s in summary["sellers"]}))


def separation(stats: dict[int, dict[str, Any]], a: int, b: int) -> float | None:
    """Return how far apart a seller's rows labelled ``a`` and ``b`` lie: the distance between
    the two labels' mean embeddings with its sampling bias taken out (None if a label is absent)."""
    if a not in stats or b not in stats or min(stats[a]["rows"], stats[b]["rows"]) < 2:
        return None
    diff = np.asarray(stats[a]["mean"]) - np.asarray(stats[b]["mean"])
    bias = stats[a]["spread"] / stats[a]["rows"] + stats[b]["spread"] / stats[b]["rows"]
    return float(np.sqrt(max(float(diff @ diff) - bias, 0.0)))


def label_quality(summary: dict[str, Any]) -> dict[str, np.ndarray]:
    """Return, per seller and label, how clean its labels look: for each pair of labels, its
    separation over the largest any seller shows (wrong labels pull the labels' means together),
    averaged over the label's pairs; 1 where nothing can be compared."""
    n = len(summary["classes"])
    stats = {s["name"]: {int(t["label"]): t for t in s["label_stats"]} for s in summary["sellers"]}
    seps = {(a, b): {s: separation(stats[s], a, b) for s in stats} for a in range(n) for b in range(n) if a < b}
    best = {pair: max((v for v in per.values() if v is not None), default=0.0) for pair, per in seps.items()}
    out = {}
    for s in stats:
        quality = np.ones(n)
        for c in range(n):
            ratios = []
            for pair, per in seps.items():
                mine = per[s]
                if c in pair and mine is not None and best[pair] > 0:
                    ratios.append(min(1.0, mine / best[pair]))
            if ratios:
                quality[c] = float(np.mean(ratios))
        out[s] = quality
    return out


@register("greedy", KIND, "steps of rows from the seller adding the most needed, cleanly labelled rows per unit")
def greedy(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return a plan bought in steps of about budget / STEPS, each from the seller whose next
    rows add the most of the least-bought labels, weighted by how clean the seller's labels
    look (:func:`label_quality`), per currency unit."""
    summary = market(data)
    sellers, held = options_of(spec).sellers, stock(spec)
    quality = label_quality(summary)
    shares = {s["name"]: np.asarray(s["label_share"], dtype=np.float64) for s in summary["sellers"]}
    have = np.bincount(data.split(BUYER).public_labels, minlength=len(spec.classes)).astype(np.float64)
    plan = dict.fromkeys(sellers, 0)
    step = max(1, spec.budget // STEPS)
    while True:
        left = spec.budget - plan_cost(spec, plan)
        best, best_value, best_n = None, 0.0, 0
        need = 1.0 / np.sqrt(1.0 + have)
        for s, terms in sellers.items():
            price = terms.price
            n = price.most_rows(price.cost(plan[s]) + min(step, left), held[s]) - plan[s]
            if n <= 0:
                continue
            # a label's rows count by how clean they look, squared: wrong labels also do harm
            value = n * float((shares[s] * quality[s] ** 2) @ need)
            per_unit = value / max(price.cost(plan[s] + n) - price.cost(plan[s]), 1)
            if per_unit > best_value:
                best, best_value, best_n = s, per_unit, n
        if best is None:
            break
        plan[best] += best_n
        have += best_n * shares[best] * quality[best] ** 2
    return _table(plan)
