"""Public and private bundles: no public file holds a private column, for every registered
challenge, and a kind cannot read a private column from the public bundle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from dataperf.challenges import challenges
from dataperf.contract import Share
from dataperf.data.bundles import PUBLIC_DIR, shares
from dataperf.data.prepare import prepare
from dataperf.data.prepared import PreparedData
from dataperf.errors import DataError
from dataperf.hashing import sha256_file
from dataperf.testing import tiny_spec


@pytest.mark.parametrize("challenge", challenges().names())
def test_no_public_file_holds_a_private_column(challenge: str, tmp_path: Path) -> None:
    spec = tiny_spec(challenges().get(challenge))
    private = prepare(spec, root=tmp_path / "data" / spec.id)
    public = private / PUBLIC_DIR
    plan = shares(spec, private)
    manifest = json.loads((public / "bundle.json").read_text())
    assert manifest["bundle"] == "public"
    assert manifest["splits"] == {n: s.value for n, s in plan.items() if s is not Share.PRIVATE}
    hidden = [n for n, s in plan.items() if s is Share.PRIVATE]
    hidden_ids = set()
    for name in hidden:
        hidden_ids |= set(pq.read_table(private / f"{name}.parquet", columns=["id"]).column("id").to_pylist())
    private_only = {sha256_file(private / f"{n}{ext}") for n in hidden for ext in (".parquet", ".f32")}
    for path in sorted(public.iterdir()):
        assert sha256_file(path) not in private_only, f"{path.name} is a private file, byte for byte"
        if path.suffix != ".parquet":
            continue
        table = pq.read_table(path)
        assert "label" not in table.column_names, f"{path.name} holds the ground truth"
        assert not hidden_ids & set(table.column("id").to_pylist()), f"{path.name} holds hidden rows"
        if path.stem in plan:
            truth = pq.read_table(private / path.name)
            pub = table.column("public_label").to_numpy()
            if plan[path.stem] is Share.FEATURES:
                assert (pub == -1).all()
            else:  # exactly what participants see in the private bundle, never the truth where it differs
                assert np.array_equal(pub, truth.column("public_label").to_numpy())
    for name in hidden:
        assert not (public / f"{name}.parquet").exists() and not (public / f"{name}.f32").exists()


@pytest.mark.parametrize("challenge", ["vision-testset", "vision-cleaning"])
def test_a_kind_cannot_read_a_private_column_from_the_public_bundle(challenge: str, tmp_path: Path) -> None:
    spec = tiny_spec(challenges().get(challenge))
    private = PreparedData(spec, prepare(spec, root=tmp_path / "data" / spec.id))
    public = PreparedData(spec, private.folder / PUBLIC_DIR)
    assert (private.bundle, public.bundle) == ("private", "public")
    plan = shares(spec, private.folder)
    for name, share in plan.items():
        if share is Share.PRIVATE:
            with pytest.raises(DataError, match="no split"):
                public.split(name)
        elif share is Share.LABELLED:
            assert np.array_equal(public.split(name).labels, private.split(name).labels)
        else:
            with pytest.raises(DataError, match="ground truth is not in the public bundle"):
                _ = public.split(name).labels
            assert len(private.split(name).labels) == len(public.split(name).ids)


def _duals() -> list[str]:
    from dataperf.contract import Role
    from dataperf.kinds import kind_of

    return [n for n in challenges().names() if kind_of(challenges().get(n)).role is Role.TESTS]


@pytest.mark.parametrize("dual", _duals())
def test_no_public_bundle_of_a_pair_labels_the_duals_evaluation_pool(dual: str, tmp_path: Path) -> None:
    """The training-set challenge's public dev split is not the test-set dual's evaluation pool:
    neither challenge's public bundle holds a label of an evaluation-pool row."""
    from dataperf.kinds.test_set import EVAL_SPLIT

    dual_spec = tiny_spec(challenges().get(dual))
    assert dual_spec.pair is not None
    pair_spec = tiny_spec(challenges().get(dual_spec.pair))
    pool_ids: set[int] = set()
    for spec in (pair_spec, dual_spec):
        private = prepare(spec, root=tmp_path / spec.id)
        ids = pq.read_table(private / f"{EVAL_SPLIT}.parquet", columns=["id"]).column("id").to_pylist()
        assert not pool_ids or pool_ids == set(ids), "the pair and its dual share one evaluation pool"
        pool_ids = set(ids)
        assert shares(spec, private)[EVAL_SPLIT] is Share.FEATURES
        public = private / PUBLIC_DIR
        for path in sorted(public.glob("*.parquet")):
            t = pq.read_table(path)
            label = "public_label" if "public_label" in t.column_names else None
            ids_here = np.asarray(t.column("id").to_pylist())
            on_pool = np.isin(ids_here, list(pool_ids))
            if path.name == f"{EVAL_SPLIT}.parquet":
                assert on_pool.all() and label and (t.column(label).to_numpy() == -1).all()
            else:  # the dev split, the candidate pool, the examples: no evaluation-pool row at all
                assert not on_pool.any(), f"{spec.id}: public {path.name} holds evaluation-pool rows"


@pytest.mark.parametrize("challenge", ["vision-selection", "speech-selection", "text-selection", "vision-cleaning"])
def test_a_participant_scores_on_the_dev_split_and_the_server_on_the_test_split(challenge: str, tmp_path: Path) -> None:
    spec = tiny_spec(challenges().get(challenge))
    private = PreparedData(spec, prepare(spec, root=tmp_path / "data" / spec.id))
    public = PreparedData(spec, private.folder / PUBLIC_DIR)
    assert private.scoring_split().name == "test" and public.scoring_split().name == "dev"
    assert np.array_equal(public.scoring_split().labels, private.split("dev").labels)
    with pytest.raises(DataError, match="ground truth is not in the public bundle"):
        _ = public.split("test").labels
    others = set().union(*(set(private.split(n).ids.tolist()) for n in private.split_names() if n != "dev"))
    assert not others & set(private.split("dev").ids.tolist()), "the dev split is drawn apart from every other split"


def test_a_dual_is_refused_when_its_pair_publishes_the_evaluation_pools_labels(tmp_path: Path) -> None:
    import yaml

    from dataperf.challenges import load_spec
    from dataperf.errors import SpecError
    from dataperf.paths import challenge_dirs
    from dataperf.testing import to_document

    folder = next(d for d in challenge_dirs() if (d / "vision-selection.yaml").exists())
    pair = yaml.safe_load((folder / "vision-selection.yaml").read_text())
    del pair["data"]["splits"]["dev"]  # without a dev split, its 'test' split is its labelled dev split
    (tmp_path / "vision-selection.yaml").write_text(yaml.safe_dump(pair))
    (tmp_path / "vision-testset.yaml").write_text((folder / "vision-testset.yaml").read_text())
    with pytest.raises(SpecError) as err:
        load_spec(tmp_path / "vision-testset.yaml")
    text = str(err.value)
    assert "vision-testset.yaml" in text and "evaluation pool" in text and "data.splits.dev" in text
    assert to_document(load_spec(tmp_path / "vision-selection.yaml"))["id"] == "vision-selection"
