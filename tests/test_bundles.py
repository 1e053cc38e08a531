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
