"""The rules page: generated from the spec, it names every spec field and model parameter,
states the rules an outsider needs to re-implement scoring, and old key names still load."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from dataperf.challenges import challenges, load_spec, parse_spec
from dataperf.contract import ChallengeSpec
from dataperf.errors import SpecError
from dataperf.models import build_model
from dataperf.rules import render_html, render_text, spec_entries
from dataperf.spec_renames import DeprecatedKeyWarning

ROOT = Path(__file__).resolve().parents[1]
IDS = challenges(ROOT / "challenges").names()


def _field_keys(obj: BaseModel, prefix: str = "") -> list[str]:
    """Every field of a pydantic model, nested through models, lists and mappings."""
    out = []
    for name in type(obj).model_fields:
        key = f"{prefix}{name}"
        out.append(key)
        value = getattr(obj, name)
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        if isinstance(value, BaseModel):
            out += _field_keys(value, key + ".")
        for k, item in items:
            sub = f"{key}[{k}]" if isinstance(value, list) else f"{key}.{k}"
            if isinstance(item, BaseModel):
                out += _field_keys(item, sub + ".")
            elif isinstance(value, dict):
                out.append(sub)
    return out


@pytest.mark.parametrize("cid", IDS)
def test_every_spec_field_and_model_parameter_is_on_the_rules_page(cid: str) -> None:
    spec = challenges(ROOT / "challenges").get(cid)
    text, page = render_text(spec), render_html(spec)
    keys = _field_keys(spec)
    assert len(keys) > 30
    for key in keys:
        assert f"\n{key}:" in text, key
        assert f"<code>{key}</code>" in page.replace("&#x27;", "'"), key
    model = build_model(spec.model.name, dict(spec.model.params))
    for param, value in model.params().items():
        assert f"{param} = {value!r}" in text, param


@pytest.mark.parametrize("cid", IDS)
def test_every_spec_field_is_documented(cid: str) -> None:
    spec = challenges(ROOT / "challenges").get(cid)
    undocumented = [e.key for e in spec_entries(spec) if not e.doc and not e.key.endswith("]")]
    # mapping entries (a split, a seller, a model parameter) are documented by their mapping
    mapped = {"data.splits.", "data.files.", "model.params.", "options.sellers."}
    leaves = [k for k in undocumented if not any(k.startswith(m) and k.count(".") == m.count(".") for m in mapped)]
    assert leaves == []


def test_the_rules_an_outsider_needs_are_stated() -> None:
    reg = challenges(ROOT / "challenges")
    sel = render_text(reg.get("vision-selection"))
    for needle in (
        "sorted(numpy.random.default_rng(s).choice(n, size=k, replace=False))",  # the 90% subsample
        "C = 1.0 and max_iter = 200",
        "F1 of class 1",
        "one class",
        "the same id may appear in several tasks".capitalize().split(" the")[0],
        "overrides the challenge's budget",
        "data.noise.fit_share: 0.05",
        "It is not a share of wrong labels",
        "ci95 = mean(per_seed)",
    ):
        assert needle in sel, needle
    assert "each fit uses 900 of the 1000" in render_text(reg.get("vision-testset"))
    speech = render_text(reg.get("speech-selection"))
    assert "What a seed varies: only the SVC's probability estimates" in speech
    clean = render_text(reg.get("vision-cleaning"))
    assert "acc >= bar" in clean and "score(s) = k / n" in clean
    cont = render_text(reg.get("speech-continual"))
    for formula in ("BWT = mean_{j<T}", "FWT = mean_{j>=2}", "forgetting = mean_{j<T}", "intransigence = mean_k"):
        assert formula in cont, formula
    acq = render_text(reg.get("text-acquisition"))
    assert "* metric(s) +" in acq and "(budget - cost) / budget" in acq


def test_html_escapes_and_keeps_formulas() -> None:
    page = render_html(challenges(ROOT / "challenges").get("speech-continual"))
    assert '<pre class="formula">' in page
    assert "<script" not in page


def _legacy(tmp_path: Path, noise: dict[str, object]) -> Path:
    doc = yaml.safe_load((ROOT / "challenges" / "vision-selection.yaml").read_text())
    doc["data"]["noise"] = noise
    path = tmp_path / "vision-selection.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_old_noise_rate_loads_with_a_warning_naming_file_and_key(tmp_path: Path) -> None:
    path = _legacy(tmp_path, {"split": "pool", "method": "machine", "rate": 0.05, "temperature": 5.0})
    with pytest.warns(
        DeprecatedKeyWarning, match=r"vision-selection\.yaml: data\.noise\.rate .*data\.noise\.fit_share"
    ):
        old = load_spec(path)
    new = challenges(ROOT / "challenges").get("vision-selection")
    assert old == new
    flip = {"split": "pool", "method": "flip", "rate": 0.2, "confusable": 0.5}
    with pytest.warns(DeprecatedKeyWarning, match="data.noise.flip_share"):
        assert load_spec(_legacy(tmp_path, flip)).data.noise.flip_share == 0.2  # type: ignore[union-attr]


def test_both_names_or_the_wrong_share_are_refused(tmp_path: Path) -> None:
    both = {"split": "pool", "method": "machine", "rate": 0.002, "fit_share": 0.002}
    with pytest.raises(SpecError, match="give only fit_share"):
        load_spec(_legacy(tmp_path, both))
    wrong = {"split": "pool", "method": "machine", "flip_share": 0.2}
    with pytest.raises(SpecError, match=r"data\.noise"):
        load_spec(_legacy(tmp_path, wrong))


def test_the_new_names_load_without_warning() -> None:
    doc = yaml.safe_load((ROOT / "challenges" / "vision-cleaning.yaml").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec: ChallengeSpec = parse_spec(doc, "vision-cleaning.yaml")
    assert spec.data.noise is not None and spec.data.noise.share == 0.2
