"""A challenge's rules page, generated from its spec: every spec field with its value and
meaning, the data recipe, the fixed model, the metric, the kind's own rules (submission,
refusals, scoring) and how per-seed scores become a result. Exact enough to re-implement the
scoring without the code; rendered as text (``dataperf challenges ID --rules``) or HTML (the
challenge's web page).

Every part speaks for itself: a model through :meth:`FixedModel.rules`, a metric through its
documentation, a kind through :meth:`ChallengeKind.rules`; nothing here asks for a name.
"""

from __future__ import annotations

import html
import json
import re
import textwrap
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from dataperf.contract import ChallengeSpec, Section
from dataperf.kinds import KINDS
from dataperf.metrics import METRICS
from dataperf.models import build_model


@dataclass(frozen=True)
class Entry:
    """One spec field on the rules page: its dotted key, its value and what it means."""

    key: str
    value: str
    doc: str


def _show(value: Any) -> str:
    if isinstance(value, BaseModel):
        return ""
    if isinstance(value, str):
        return value if "\n" not in value else " ".join(value.split())
    return json.dumps(value, default=str)


def _doc(model: type[BaseModel], name: str) -> str:
    """Return the field's documentation (a subclass that narrows a field keeps its base's)."""
    for cls in model.__mro__:
        fields = getattr(cls, "model_fields", {}) if isinstance(cls, type) and issubclass(cls, BaseModel) else {}
        if name in fields and fields[name].description:
            return " ".join(fields[name].description.split())
    return ""


def spec_entries(spec: ChallengeSpec) -> list[Entry]:
    """Return every field of ``spec``, nested, in the spec model's order: a field holding a
    model is followed by its own fields (``data.noise.fit_share``), a list by its items
    (``tasks[0].name``), a mapping by its keys (``data.splits.pool.size``). An unset optional
    field is listed with the value ``null``."""
    out: list[Entry] = []

    def walk(obj: BaseModel, prefix: str) -> None:
        for name in type(obj).model_fields:
            key = f"{prefix}{name}"
            value = getattr(obj, name)
            doc = _doc(type(obj), name)
            out.append(Entry(key, _show(value) if not isinstance(value, (list, dict)) else _brief(value), doc))
            visit(value, key)

    def visit(value: Any, key: str) -> None:
        if isinstance(value, BaseModel):
            walk(value, key + ".")
        elif isinstance(value, list) and any(isinstance(v, BaseModel) for v in value):
            for i, item in enumerate(value):
                out.append(Entry(f"{key}[{i}]", _show(item), ""))
                visit(item, f"{key}[{i}]")
        elif isinstance(value, dict) and value:
            for k, item in value.items():
                out.append(Entry(f"{key}.{k}", _show(item) if not isinstance(item, dict) else "", ""))
                visit(item, f"{key}.{k}")

    walk(spec, "")
    return out


def _brief(value: list[Any] | dict[str, Any]) -> str:
    if any(isinstance(v, BaseModel) for v in (value if isinstance(value, list) else value.values())):
        return ""
    return _show(value)


def _data_section(spec: ChallengeSpec) -> Section:
    recipe = spec.data
    parts = [
        "The prepared data are built deterministically from the recipe (data.*): the same recipe gives "
        "the same bytes everywhere, and every file's sha256 is recorded in the data's Croissant file and "
        "checked before any evaluation. Each prepared split holds, per row: id (int64, sorted), embedding "
        "(float32 vector of fixed length), label (the ground truth) and public_label (what participants see).",
    ]
    if not recipe.from_files:
        parts.append(
            "Rows: each split of the source is shuffled once with numpy.random.default_rng(data.seed) (source "
            "splits in name order); every prepared split, in the recipe's order, takes the first 'size' rows "
            "of that order that no earlier split took (and that lie in its 'domain' when it names one). "
            "Embedding values are rounded to 4 decimals."
        )
    if recipe.noise is not None:
        parts.append(" ".join((type(recipe.noise).__doc__ or "").split()))
        parts.append(
            f"Here: the public labels of split '{recipe.noise.split}' come from method '{recipe.noise.method}' "
            "(see data.noise.*). Every other split's public labels are its ground truth unless the split sets "
            "'flip'."
        )
    return Section.of("Data", *parts)


def _metric_section(spec: ChallengeSpec) -> Section:
    direction = "higher is better" if spec.metric.direction == "max" else "lower is better"
    parts = [f"metric = {spec.metric.name} ({direction})."]
    if spec.metric.name in METRICS:
        metric = METRICS.get(spec.metric.name)
        doc = " ".join((metric.compute.__doc__ or metric.doc).split())
        parts.append(re.sub(r"^Return (the )?", "The ", doc))
        parts.append(
            "For a one-vs-rest task (one with a positive class) labels are 0/1 and the metric sees 2 classes; "
            "otherwise it sees every class of the challenge."
        )
    else:
        parts.append("The kind defines this metric (see its scoring section).")
    return Section.of("Metric", *parts)


def _model_section(spec: ChallengeSpec) -> Section:
    model = build_model(spec.model.name, dict(spec.model.params))
    params = ", ".join(f"{k} = {v!r}" for k, v in model.params().items())
    return Section.of(f"Fixed model: {spec.model.name}", *model.rules(), f"All parameters: {params}.")


def _aggregate_section(spec: ChallengeSpec) -> Section:
    return Section.of(
        "From per-seed scores to a result",
        "score[task][seed] is computed for every task and every seed of seeds = "
        f"{json.dumps(list(spec.seeds))}; the seed is passed to the fixed model (and to the kind's own draws "
        "where its rules say so).",
        "= task_mean[task] = mean over seeds of score[task][seed]",
        "= mean = mean over tasks of task_mean[task]",
        "= per_seed[s] = mean over tasks of score[task][s];  ci95 = mean(per_seed) ± t(0.975, S - 1) * "
        "sd(per_seed) / sqrt(S)",
        "S is the number of seeds and sd the sample standard deviation (n - 1 in the denominator); with one "
        "seed there is no interval. The interval is over the fixed model's seeds only: it says how much the "
        "score moves with the seed on these same rows and this same test split, not how it would move on "
        "other test rows.",
        "Fits run with one BLAS/OpenMP thread, so every bit of a score is the same on every machine with the "
        "same package versions (recorded in each result's provenance).",
    )


def sections(spec: ChallengeSpec) -> list[Section]:
    """Return the rules page of ``spec``: overview, data, fixed model, metric, the kind's own
    sections, aggregation (the spec's fields are listed apart: :func:`spec_entries`)."""
    kind = KINDS.get(spec.kind)
    overview = Section.of(
        f"{spec.title} ({spec.id}, version {spec.version})",
        f"Kind: {spec.kind}. Licence: {spec.licence}.",
        " ".join(spec.description.split()),
        "The rules below are generated from the challenge's spec and are what counts where the description says less.",
    )
    return [
        overview,
        *kind.rules(spec),
        _data_section(spec),
        _model_section(spec),
        _metric_section(spec),
        _aggregate_section(spec),
    ]


def render_text(spec: ChallengeSpec) -> str:
    """Return the rules page of ``spec`` as plain text (``dataperf challenges ID --rules``)."""
    out: list[str] = []
    for sec in sections(spec):
        out += [sec.title, "=" * len(sec.title)]
        for rule in sec.rules:
            out.append(f"    {rule.text}" if rule.formula else _wrap(rule.text))
        out.append("")
    out += ["Spec fields", "==========="]
    seen: set[str] = set()
    for e in spec_entries(spec):
        out.append(f"{e.key}: {e.value}".rstrip())
        generic = re.sub(r"\[\d+\]", "[]", e.key)
        if e.doc and generic not in seen:
            out.append(_wrap(e.doc, "    "))
        seen.add(generic)
    return "\n".join(out) + "\n"


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(text, width=100, initial_indent=indent, subsequent_indent=indent)


def render_html(spec: ChallengeSpec) -> str:
    """Return the rules page of ``spec`` as an HTML fragment (escaped; formulas in ``<pre>``)."""
    out = ['<div class="rules">']
    for sec in sections(spec):
        out.append(f"<section><h3>{html.escape(sec.title)}</h3>")
        for rule in sec.rules:
            tag = 'pre class="formula"' if rule.formula else "p"
            end = "pre" if rule.formula else "p"
            out.append(f"<{tag}>{html.escape(rule.text)}</{end}>")
        out.append("</section>")
    out.append('<section><h3>Spec fields</h3><table class="spec-fields">')
    out.append("<tr><th>key</th><th>value</th><th>meaning</th></tr>")
    seen: set[str] = set()
    for e in spec_entries(spec):
        generic = re.sub(r"\[\d+\]", "[]", e.key)
        doc = e.doc if generic not in seen else ""
        seen.add(generic)
        out.append(
            f"<tr><td><code>{html.escape(e.key)}</code></td><td>{html.escape(e.value)}</td>"
            f"<td>{html.escape(doc)}</td></tr>"
        )
    out.append("</table></section></div>")
    return "\n".join(out) + "\n"
