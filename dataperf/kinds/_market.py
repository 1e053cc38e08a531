"""The public summary of an acquisition challenge's market (``market.json``), and what
``dataperf challenges`` shows of it.

``market.json`` holds: the budget; the projection (``mean`` and ``components``: the buyer
set's top ``options.summary.dims`` principal directions, each with its largest entry made
positive, rounded to 4 decimals; a row's coordinates are ``(x - mean) @ components.T``);
per direction the histogram bin ``edges`` shared by every seller; the buyer's set (rows and
label shares); and per seller its rows, price function, share of each public label,
``histograms`` (row counts per bin, per direction), ``label_stats`` (per public label: its
rows, mean embedding and spread, the sum of the per-dimension variances) and ``samples`` (rows drawn with
``numpy.random.default_rng([data.seed, 5, k])`` for seller number ``k``: id, text, public
label, embedding). Every number is rounded to 4 decimals so the bytes are the same on every
machine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from dataperf.contract import ChallengeSpec
from dataperf.kinds.acquisition import BUYER, MARKET, options_of, seller_split

DECIMALS = 4


def _read(folder: Path, split: str) -> dict[str, Any]:
    table = pq.read_table(folder / f"{split}.parquet")
    emb = table.column("embedding").combine_chunks()
    x = np.asarray(emb.values.to_numpy(zero_copy_only=False), dtype=np.float64).reshape(len(table), -1)
    out = {"ids": table.column("id").to_numpy(), "x": x, "public": table.column("public_label").to_numpy()}
    out["text"] = table.column("text").to_pylist() if "text" in table.column_names else None
    return out


def _shares(labels: np.ndarray, n_classes: int) -> list[float]:
    counts = np.bincount(labels.astype(np.int64), minlength=n_classes)
    return [round(float(v), DECIMALS) for v in counts / max(len(labels), 1)]


def _label_stats(x: np.ndarray, labels: np.ndarray, n_classes: int) -> list[dict[str, Any]]:
    """Return, per public label a seller has, its rows, mean embedding and spread (the sum of
    the per-dimension variances)."""
    out = []
    for c in range(n_classes):
        rows = x[labels == c]
        if len(rows):
            mean = [round(float(v), DECIMALS) for v in rows.mean(axis=0)]
            spread = round(float(rows.var(axis=0).sum()), DECIMALS)
            out.append({"label": c, "rows": len(rows), "mean": mean, "spread": spread})
    return out


def _projection(x: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the rounded mean and principal directions (rows) of ``x``."""
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    comps = vt[: min(dims, len(vt))]
    signs = np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(axis=1)])
    return np.round(mean, DECIMALS), np.round(comps * signs[:, None], DECIMALS)


def build_market(spec: ChallengeSpec, folder: Path) -> dict[str, Any]:
    """Return the market summary of the prepared splits in ``folder``."""
    opts = options_of(spec)
    n_classes = len(spec.classes)
    buyer = _read(folder, BUYER)
    mean, comps = _projection(buyer["x"], opts.summary.dims)
    sellers = {s: _read(folder, seller_split(s)) for s in opts.sellers}
    coords = {s: np.round((d["x"] - mean) @ comps.T, DECIMALS) for s, d in sellers.items()}
    every = np.concatenate([*coords.values(), np.round((buyer["x"] - mean) @ comps.T, DECIMALS)])
    lo = np.floor(every.min(axis=0) * 10**DECIMALS) / 10**DECIMALS
    hi = np.ceil(every.max(axis=0) * 10**DECIMALS) / 10**DECIMALS
    edges = [np.round(np.linspace(a, b, opts.summary.bins + 1), DECIMALS) for a, b in zip(lo, hi, strict=True)]
    out: dict[str, Any] = {
        "challenge": spec.id,
        "version": spec.version,
        "budget": spec.budget,
        "classes": list(spec.classes),
        "projection": {"mean": mean.tolist(), "components": comps.tolist()},
        "edges": [e.tolist() for e in edges],
        "buyer": {"rows": len(buyer["ids"]), "label_share": _shares(buyer["public"], n_classes)},
        "sellers": [],
    }
    for k, (name, terms) in enumerate(opts.sellers.items()):
        d, c = sellers[name], coords[name]
        n = len(d["ids"])
        pick = np.random.default_rng([spec.data.seed, 5, k]).choice(n, size=min(opts.summary.samples, n), replace=False)
        samples = [
            {
                "id": int(d["ids"][i]),
                "text": None if d["text"] is None else d["text"][i],
                "label": int(d["public"][i]),
                "embedding": [round(float(v), DECIMALS) for v in d["x"][i]],
            }
            for i in np.sort(pick)
        ]
        out["sellers"].append(
            {
                "name": name,
                "rows": n,
                "price": terms.price.model_dump(mode="json"),
                "price_text": terms.price.describe(),
                "label_share": _shares(d["public"], n_classes),
                "histograms": [np.histogram(c[:, j], bins=edges[j])[0].astype(int).tolist() for j in range(c.shape[1])],
                "label_stats": _label_stats(d["x"], d["public"], n_classes),
                "samples": samples,
            }
        )
    return out


def market_overview(spec: ChallengeSpec) -> dict[str, Any]:
    """Return what ``dataperf challenges`` shows of the market: the sellers (rows, price, and
    public label shares once the data is prepared) and how a plan is scored."""
    from dataperf.paths import data_dir

    opts = options_of(spec)
    path = data_dir(spec.id, spec.version) / MARKET
    summary = json.loads(path.read_text()) if path.is_file() else None
    shares = {s["name"]: s["label_share"] for s in summary["sellers"]} if summary else {}
    unknown = ["?"] * len(spec.classes)
    rows = [
        [name, spec.data.splits[seller_split(name)].size, terms.price.describe(), *shares.get(name, unknown)]
        for name, terms in opts.sellers.items()
    ]
    w = opts.score
    notes = [
        f"budget: {spec.budget} currency units; a plan costing more is refused",
        f"score per seed: {w.metric} x {spec.metric.name} + {w.unspent} x (budget - cost) / budget",
        f"the buyer's own set: {spec.data.splits[BUYER].size} rows (split '{BUYER}', clean labels)",
    ]
    if summary is None:
        notes.append(f"label shares, histograms and sample rows: run `dataperf prepare {spec.id}` ({MARKET})")
    else:
        notes.append(f"histograms along the buyer set's principal directions and sample rows: {path}")
    return {
        "market": summary,
        "tables": [
            {
                "title": "sellers (label shares are of the public labels)",
                "columns": ["seller", "rows", "price", *(f"share {c}" for c in spec.classes)],
                "rows": rows,
            }
        ],
        "notes": notes,
    }
