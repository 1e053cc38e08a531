"""Croissant metadata of prepared data: mlcroissant loads every RecordSet of every challenge's
private and public bundle with no error and no warning; every file and column is described."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dataperf import testing
from dataperf.challenges import challenges
from dataperf.data.prepare import prepare

REG = challenges()
OWN_DATA = [n for n in REG.names() if REG.get(n).pair is None]  # a dual's data are its pair's


def check_croissant(meta: Path) -> dict[str, int]:
    """Load ``meta`` with mlcroissant, read every record of every RecordSet, and check that every
    file, Parquet column and RAI field is described; return the rows read per RecordSet."""
    import mlcroissant as mlc

    ds = mlc.Dataset(jsonld=str(meta))
    assert ds.metadata.issues.errors == set() and ds.metadata.issues.warnings == set()
    doc = json.loads(meta.read_text())
    for key in ("datePublished", "version", "citeAs", "license", "rai:dataAnnotationProtocol", "rai:dataCollection"):
        assert doc.get(key), key
    folder = meta.parent
    listed = {d["contentUrl"]: d for d in doc["distribution"]}
    on_disk = {p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")} - {"croissant.json"}
    assert set(listed) == on_disk
    assert all(d.get("description") for d in listed.values())
    sets = {r["@id"]: r for r in doc["recordSet"]}
    rows = {}
    for name in sorted(on_disk):
        if name.endswith(".parquet"):
            stem = name.removesuffix(".parquet")
            schema = pq.read_schema(folder / name)
            assert [f["name"] for f in sets[stem]["field"]] == schema.names
            n = sum(1 for _ in ds.records(record_set=stem))
            assert n == pq.ParquetFile(folder / name).metadata.num_rows
            rows[stem] = n
            if "embedding" in schema.names:
                emb = next(f for f in sets[stem]["field"] if f["name"] == "embedding")
                assert (
                    emb["cr:isArray"] is True and int(emb["cr:arrayShape"]) == schema.field("embedding").type.list_size
                )
        if name.endswith(".f32"):
            assert "float32 matrix of shape" in listed[name]["description"]
    return rows


@pytest.mark.parametrize("cid", OWN_DATA)
def test_tiny_data_croissant_loads_without_issues(cid: str, tmp_path: Path) -> None:
    spec = testing.tiny_spec(REG.get(cid))
    folder = prepare(spec, root=tmp_path / cid)
    private = check_croissant(folder / "croissant.json")
    public = check_croissant(folder / "public" / "croissant.json")
    assert set(public) <= set(private) and private
    doc = json.loads((folder / "croissant.json").read_text())
    if spec.data.noise is not None:  # the noise process, and (server side only) its measured share
        assert f"split '{spec.data.noise.split}'" in doc["rai:dataAnnotationProtocol"]
        assert "Measured share" in doc["rai:dataAnnotationProtocol"]
        assert (
            "Measured share"
            not in json.loads((folder / "public" / "croissant.json").read_text())["rai:dataAnnotationProtocol"]
        )


@pytest.mark.slow
@pytest.mark.parametrize("cid", OWN_DATA)
def test_real_data_croissant_loads_without_issues(cid: str) -> None:
    folder = prepare(REG.get(cid))
    check_croissant(folder / "croissant.json")
    check_croissant(folder / "public" / "croissant.json")
