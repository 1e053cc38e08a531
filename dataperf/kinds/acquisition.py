"""``acquisition``: buy training rows from sellers in a data market, under a budget.

A challenge lists its sellers in ``options.sellers``, each with a price function; seller
``s``'s rows are the prepared split ``seller-<s>`` (its size, class mix and label noise are
the data recipe's: ``mix`` and ``flip``). The buyer holds the split ``buyer`` (clean labels)
and a budget of ``budget`` currency units; ``test`` is the hidden test split.

What the buyer sees before buying is the market summary, ``market.json`` in the prepared data
(:meth:`Acquisition.publish`; ``dataperf challenges <id>`` prints it): per seller its row
count, price function, share of each public label, histograms of its rows along a fixed
projection (the buyer set's principal directions) and a few sample rows with their text,
public label and embedding. A seller's other rows are read for scoring only.

Submission: a purchase plan, one row per (seller, count); a seller left out buys nothing.
Rules, every violation reported at once: known sellers, each named once, integer counts
between 0 and the seller's row count, and the plan's cost (the sum of every seller's price
function at its count; each known seller's first non-negative count is priced, even one above
its row count, so the message states what the file asks for) at most the budget.

Price of ``n`` rows from one seller: nothing for ``n = 0``; otherwise ``fee`` plus, for each
row ``i = 1..n``, the per-row price of the last discount tier whose ``after`` is below ``i``
(``per_row`` before the first tier). All prices are whole currency units, so the cost is exact.

Scoring, per seed of ``seeds``: from seller number ``k`` (its position in ``options.sellers``,
from 0) the rows at positions ``sorted(numpy.random.default_rng([seed, k]).choice(rows,
size=count, replace=False))`` of its split are bought, with their public labels. The fixed
model is trained on the buyer's rows followed by the bought rows (sellers in order) and
scored by the metric on ``test``. The seed's score is
``options.score.metric * metric + options.score.unspent * (budget - cost) / budget``.
The result's extras carry the metric (mean, interval and per seed), the cost, the unspent
budget and its share, and the plan.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dataperf import checks
from dataperf.contract import (
    BoardColumn,
    BoardLayout,
    ChallengeKind,
    ChallengeSpec,
    Column,
    Counters,
    KindOptions,
    ParsedSubmission,
    Section,
    Share,
)
from dataperf.data.prepared import PreparedData
from dataperf.errors import DataError, Violation
from dataperf.kinds import KINDS
from dataperf.metrics import METRICS
from dataperf.models import build_model

if TYPE_CHECKING:
    import pandas as pd

MARKET = "market.json"
"""The public market summary written with the prepared data."""
BUYER = "buyer"
TEST = "test"
NAME = r"^[a-z0-9][a-z0-9_-]*$"


class _Terms(BaseModel):
    """Base of the market's spec models: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True)


class Discount(_Terms):
    """A volume-discount tier: rows bought beyond ``after`` cost ``per_row`` each."""

    after: int = Field(ge=1)
    """Rows beyond this many cost the tier's ``per_row``."""
    per_row: int = Field(ge=0)
    """Price of each row beyond ``after`` (until the next tier)."""


class Price(_Terms):
    """A seller's price function, in whole currency units (see the module documentation)."""

    per_row: int = Field(ge=0)
    """Price of each row before the first discount tier (every row when there is none)."""
    fee: int = Field(default=0, ge=0)
    """Charged once when at least one row is bought."""
    discounts: list[Discount] = Field(default_factory=list)
    """Volume-discount tiers, by increasing ``after``; empty: a linear price."""

    @model_validator(mode="after")
    def _check(self) -> Price:
        after = [d.after for d in self.discounts]
        if after != sorted(set(after)):
            raise ValueError(f"discounts must have strictly increasing 'after', got {after}")
        return self

    def cost(self, n: int) -> int:
        """Return the price of ``n`` rows."""
        if n <= 0:
            return 0
        total, start, rate = self.fee, 0, self.per_row
        for tier in self.discounts:
            if n <= tier.after:
                break
            total += (tier.after - start) * rate
            start, rate = tier.after, tier.per_row
        return total + (n - start) * rate

    def most_rows(self, money: int, stock: int) -> int:
        """Return the most rows (at most ``stock``) whose price is at most ``money``."""
        lo, hi = 0, stock
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.cost(mid) <= money:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def describe(self) -> str:
        """Return the price function in words."""
        parts = [f"fee {self.fee} + "] if self.fee else []
        parts.append(f"{self.per_row}/row")
        parts += [f", {d.per_row}/row after {d.after}" for d in self.discounts]
        return "".join(parts)


class Seller(_Terms):
    """One seller's terms (its rows are the prepared split ``seller-<name>``)."""

    price: Price
    """The seller's price function."""


class ScoreWeights(_Terms):
    """How a seed's score combines the metric with the unspent share of the budget."""

    metric: float = Field(default=1.0, ge=0.0)
    """Weight of the fixed model's metric on the test split."""
    unspent: float = Field(default=0.0, ge=0.0)
    """Weight of (budget - cost) / budget."""


class MarketSummary(_Terms):
    """What the market summary shows of each seller."""

    dims: int = Field(default=8, ge=1, le=64)
    """Principal directions of the buyer's set the rows are projected on."""
    bins: int = Field(default=10, ge=2, le=100)
    """Histogram bins per direction (shared edges over every seller)."""
    samples: int = Field(default=8, ge=0, le=100)
    """Sample rows shown per seller (text, public label, embedding)."""


class AcquisitionOptions(KindOptions):
    """The market: sellers and their prices, the score's weights, the summary's shape."""

    sellers: dict[str, Seller] = Field(min_length=2)
    """Sellers by name, in order (a seller's position seeds its row draw)."""
    score: ScoreWeights = Field(default_factory=ScoreWeights)
    """How a seed's score combines the metric with the unspent share of the budget."""
    summary: MarketSummary = Field(default_factory=MarketSummary)
    """What the public market summary shows of each seller (it does not change scores)."""

    @model_validator(mode="after")
    def _check(self) -> AcquisitionOptions:
        import re

        bad = [s for s in self.sellers if not re.match(NAME, s)]
        if bad:
            raise ValueError(f"seller names must be lower-case letters, digits, '-' or '_', got {bad}")
        return self


class AcquisitionSpec(ChallengeSpec):
    """An ``acquisition`` challenge (``budget`` is in currency units)."""

    kind: Literal["acquisition"]
    options: AcquisitionOptions


def options_of(spec: ChallengeSpec) -> AcquisitionOptions:
    """Return the acquisition options of ``spec``."""
    return AcquisitionOptions.of(spec)


def seller_split(name: str) -> str:
    """Return the name of seller ``name``'s split."""
    return f"seller-{name}"


def plan_cost(spec: ChallengeSpec, counts: dict[str, int]) -> int:
    """Return the price of buying ``counts`` (seller -> rows; unknown sellers cost nothing)."""
    sellers = options_of(spec).sellers
    return sum(sellers[s].price.cost(n) for s, n in counts.items() if s in sellers)


def stock(spec: ChallengeSpec) -> dict[str, int]:
    """Return each seller's row count (from the data recipe)."""
    return {s: spec.data.splits[seller_split(s)].size for s in options_of(spec).sellers}


def market(data: PreparedData) -> dict[str, Any]:
    """Return the verified prepared data's market summary."""
    path = data.folder / MARKET
    if MARKET not in data.file_hashes:
        raise DataError(f"{data.folder}: no {MARKET} (prepare the challenge again)")
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


class Acquisition(ChallengeKind):
    """Participants submit how many rows they buy from each seller."""

    name = "acquisition"
    spec_model = AcquisitionSpec
    columns = (
        Column("seller", "str", "seller name"),
        Column("count", "int", "rows bought from the seller (0 up to its row count)"),
    )
    splits = (BUYER, TEST)

    def rules(self, spec: ChallengeSpec) -> list[Section]:
        """Return the market, the submission, what is refused, prices and the scoring."""
        doc = (__doc__ or "").split("\n\n")
        opts = options_of(spec)
        prices = [f"{name}: {seller.price.describe()}" for name, seller in opts.sellers.items()]
        w = opts.score
        return [
            Section.from_doc("The market", "\n\n".join(doc[1:3])),
            Section.of("Sellers and prices", *prices),
            Section.from_doc("Submission and refused submissions", doc[3]),
            Section.from_doc("Price of n rows", doc[4]),
            Section.from_doc("Scoring", "\n\n".join(doc[5:])),
            Section.of(
                "The score of a seed",
                f"= score(s) = {w.metric!r} * metric(s) + {w.unspent!r} * (budget - cost) / budget",
                "metric(s) is the metric of the fixed model on 'test' for seed s, cost the plan's price and "
                f"budget = {spec.budget} currency units; weights: score.metric = {w.metric!r}, score.unspent = "
                f"{w.unspent!r}.",
            ),
        ]

    def check_spec(self, spec: ChallengeSpec) -> list[str]:
        """Return spec problems: a split per seller and no stray seller split, one task over
        every class, a known metric."""
        problems = super().check_spec(spec)
        sellers = options_of(spec).sellers
        problems += [
            f"data.splits lacks '{seller_split(s)}'" for s in sellers if seller_split(s) not in spec.data.splits
        ]
        problems += [
            f"data.splits has '{n}' but options.sellers has no '{n[len('seller-') :]}'"
            for n in spec.data.splits
            if n.startswith("seller-") and n[len("seller-") :] not in sellers
        ]
        if len(spec.tasks) != 1 or spec.tasks[0].positive is not None:
            problems.append("an acquisition challenge has one task over every class (no 'positive')")
        if spec.metric.name not in METRICS:
            problems.append(METRICS.miss_message(spec.metric.name))
        return problems

    def board(self, spec: ChallengeSpec, ratchet: bool) -> BoardLayout:
        """Return the board layout: the combined score, its interval, the metric, cost and unspent budget."""
        w = options_of(spec).score
        metric = spec.metric.name
        cols = (
            BoardColumn("score", "Score", "num", f"{w.metric} x {metric} + {w.unspent} x unspent share of the budget"),
            BoardColumn("ci95", "95% CI", "ci", "95% Student-t interval of the score over the fixed model's seeds"),
            BoardColumn("metric", metric, "num", f"{metric} of the fixed model on the test split, mean over seeds"),
            BoardColumn("cost", "Cost", "num", f"what the plan costs, in currency units (budget {spec.budget})"),
            BoardColumn("unspent", "Unspent", "num", "budget left after the purchase, in currency units"),
        )
        return BoardLayout("Acquisition leaderboard", cols, self.local_meaning(spec))

    def diff(self, spec: ChallengeSpec, frame_a: pd.DataFrame, frame_b: pd.DataFrame) -> dict[str, Any]:
        """Return how the purchase plan changed: rows bought from each seller in A and B."""
        from dataperf.diffing import counts

        return counts(frame_a, frame_b, key="seller", value="count")

    def local_meaning(self, spec: ChallengeSpec) -> str:
        """Return the score formula."""
        w = options_of(spec).score
        return (
            f"{w.metric} x {spec.metric.name} of the fixed model trained on the buyer's rows plus the bought rows, "
            f"on the 'test' split, + {w.unspent} x (budget - cost) / budget, mean over seeds"
        )

    def shrink(self, spec: ChallengeSpec, rows: int, budget: int) -> ChallengeSpec:
        """Return the tiny spec: sellers of at most a quarter of ``rows`` rows each, the buyer's
        set at most ``budget`` rows, and the money budget scaled with the sellers' rows."""
        small = super().shrink(spec, rows, budget)
        full = max(stock(spec).values())
        seller_rows = max(4, rows // 4)
        splits = dict(small.data.splits)
        for s in options_of(spec).sellers:
            name = seller_split(s)
            splits[name] = splits[name].model_copy(update={"size": min(spec.data.splits[name].size, seller_rows)})
        splits[BUYER] = splits[BUYER].model_copy(update={"size": min(spec.data.splits[BUYER].size, budget)})
        money = max(1, spec.budget * min(full, seller_rows) // full)
        return small.model_copy(
            update={"data": small.data.model_copy(update={"splits": splits}), "budget": min(spec.budget, money)}
        )

    def check(self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission) -> list[Violation]:
        """Return violations: unknown or repeated sellers, counts that are negative or above a
        seller's row count, and a plan that costs more than the budget."""
        sellers = options_of(spec).sellers
        held = stock(spec)
        names = sub.table["seller"].to_numpy(dtype=object)
        counts = sub.table["count"].to_numpy(dtype=np.int64)
        out: list[Violation] = []
        priced: dict[str, int] = {}
        for i in range(len(names)):
            row, name, n = int(sub.rows[i]), str(names[i]), int(counts[i])
            if name not in sellers:
                close = difflib.get_close_matches(name, list(sellers), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                known = ", ".join(sellers)
                out.append(Violation(sub.path.name, row, "seller", f"unknown seller {name!r} (sellers: {known}){hint}"))
                continue
            if n < 0:
                out.append(Violation(sub.path.name, row, "count", f"count must be 0 or more, got {n}"))
            elif n > held[name]:
                out.append(
                    Violation(sub.path.name, row, "count", f"seller '{name}' holds {held[name]} rows; got count {n}")
                )
            if n >= 0:
                priced.setdefault(name, n)
        out += checks.duplicates(sub, ["seller"])
        cost = plan_cost(spec, priced)
        if cost > spec.budget:
            over = f"the plan costs {cost}; the budget is {spec.budget} (over by {cost - spec.budget})"
            out.append(Violation(sub.path.name, None, "count", over))
        return out

    def score(
        self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission, counters: Counters
    ) -> dict[str, dict[int, float]]:
        """Return the combined score per seed (one task)."""
        return self.score_in_full(spec, data, sub, counters)[0]

    def score_in_full(
        self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission, counters: Counters
    ) -> tuple[dict[str, dict[int, float]], dict[str, Any]]:
        """Return the combined score per seed and the extras: metric, cost, unspent budget, plan."""
        opts = options_of(spec)
        plan = plan_of(spec, sub.table)
        cost = plan_cost(spec, plan)
        unspent = spec.budget - cost
        share = unspent / spec.budget
        model = build_model(spec.model.name, dict(spec.model.params))
        metric = METRICS.get(spec.metric.name)
        buyer, test = data.split(BUYER), data.split(TEST)
        x_buyer = np.asarray(buyer.x)
        x_test = np.asarray(test.x)
        counters.rows_read += len(x_buyer) + len(x_test)
        per_seed: dict[int, float] = {}
        for seed in spec.seeds:
            x_bought, y_bought = bought_rows(spec, data, plan, seed)
            counters.rows_read += len(x_bought)
            x = np.concatenate([x_buyer, x_bought])
            y = np.concatenate([buyer.public_labels, y_bought])
            fitted = model.fit(x, y, seed)
            counters.fits += 1
            per_seed[seed] = metric(test.labels, fitted.predict(x_test), len(spec.classes))
            counters.predictions += 1
        task = spec.tasks[0].name
        scores = {task: {s: opts.score.metric * m + opts.score.unspent * share for s, m in per_seed.items()}}
        return scores, _extras(spec, plan, cost, per_seed)

    def share(self, spec: ChallengeSpec) -> dict[str, Share]:
        """Return what participants get: the buyer's own labelled rows; the sellers' rows and the
        test split stay private (a buyer sees the sellers through ``market.json`` only)."""
        return {name: Share.LABELLED if name == BUYER else Share.PRIVATE for name in spec.data.split_names()}

    def publish(self, spec: ChallengeSpec, folder: Path) -> None:
        """Write ``market.json``, the public market summary (see :mod:`dataperf.kinds._market`)."""
        from dataperf.kinds._market import build_market

        text = json.dumps(build_market(spec, folder), indent=1) + "\n"
        (folder / MARKET).write_text(text)

    def overview(self, spec: ChallengeSpec) -> dict[str, Any]:
        """Return the market: the budget and score rule, and per seller its rows and price, with
        its label shares when the data is prepared."""
        from dataperf.kinds._market import market_overview

        return market_overview(spec)


def plan_of(spec: ChallengeSpec, table: Any) -> dict[str, int]:
    """Return a valid plan's counts per seller (every seller, in the options' order)."""
    given = dict(zip(table["seller"].astype(str), table["count"].astype(np.int64), strict=True))
    return {s: int(given.get(s, 0)) for s in options_of(spec).sellers}


def bought_rows(
    spec: ChallengeSpec, data: PreparedData, plan: dict[str, int], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the rows (embeddings, public labels) that ``plan`` buys under ``seed``: from
    seller number ``k``, positions ``sorted(default_rng([seed, k]).choice(rows, count, replace=False))``."""
    xs, ys = [np.empty((0, data.dim), dtype=np.float32)], [np.empty(0, dtype=np.int64)]
    for k, name in enumerate(options_of(spec).sellers):
        n = plan.get(name, 0)
        if n <= 0:
            continue
        split = data.split(seller_split(name))
        pos = np.sort(np.random.default_rng([seed, k]).choice(len(split.ids), size=n, replace=False))
        xs.append(np.asarray(split.x[pos]))  # a seller's split is small: read from its memory map
        ys.append(split.public_labels[pos])
    return np.concatenate(xs), np.concatenate(ys)


def _extras(spec: ChallengeSpec, plan: dict[str, int], cost: int, per_seed: dict[int, float]) -> dict[str, Any]:
    from dataperf.evaluator import confidence_interval

    sellers = options_of(spec).sellers
    values = list(per_seed.values())
    ci = confidence_interval(values)
    unspent = spec.budget - cost
    name = spec.metric.name
    return {
        "metric": float(np.mean(values)),
        "metric_name": name,
        "metric_ci95": None if ci is None else [ci[0], ci[1]],
        "metric_per_seed": {str(s): v for s, v in per_seed.items()},
        "cost": cost,
        "unspent": unspent,
        "unspent_share": unspent / spec.budget,
        "budget": spec.budget,
        "plan": plan,
        "tables": [
            {
                "title": "purchase plan",
                "columns": ["seller", "rows", "price", "cost"],
                "rows": [[s, n, sellers[s].price.describe(), sellers[s].price.cost(n)] for s, n in plan.items()],
            },
            {
                "title": "score parts",
                "columns": ["part", "value"],
                "rows": [
                    [f"{name} (mean over seeds)", float(np.mean(values))],
                    ["cost", cost],
                    ["unspent budget", unspent],
                    ["unspent share", unspent / spec.budget],
                ],
            },
        ],
    }


KINDS.add(Acquisition.name, Acquisition())
