"""The evaluator: deterministic, self-describing, and refusing data that changed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from baselines import get_baseline
from dataperf.contract import ChallengeSpec, Result
from dataperf.data.bundles import PUBLIC_DIR
from dataperf.data.croissant import read_file_hashes
from dataperf.data.prepare import prepare
from dataperf.data.prepared import PreparedData
from dataperf.errors import DataError
from dataperf.evaluator import confidence_interval, evaluate, summarize
from dataperf.hashing import STAMP_CACHE, cached_sha256s, sha256_file, sha256_files
from dataperf.kinds.cleaning import checkpoints
from dataperf.metrics import accuracy, f1, macro_f1
from dataperf.submission import write_submission


def _submission(spec: ChallengeSpec, data: PreparedData, tmp_path: Path, name: str = "random") -> Path:
    table = get_baseline(spec.kind, name).build(spec, data, 0)
    return write_submission(table, tmp_path / f"{name}.parquet", spec.id)


def test_result_round_trips_bit_for_bit(
    tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]], tmp_path: Path
) -> None:
    spec, data = tiny_data["vision-selection"]
    result = evaluate(spec, _submission(spec, data, tmp_path), data=data)
    back = Result.from_dict(json.loads(result.to_json()))
    assert back.same_scores(result) and back.ci95 == result.ci95 and back.provenance == result.provenance
    names = [t.name for t in spec.tasks]  # not alphabetical (shirt, sneaker, coat)
    assert names != sorted(names) and list(back.scores) == list(back.task_means) == names
    prov = result.provenance
    assert prov.challenge == spec.id and prov.challenge_version == spec.version
    assert prov.seeds == spec.seeds and prov.evaluator_version
    assert {"numpy", "scikit-learn", "python"} <= set(prov.packages)
    assert result.counters["fits"] == len(spec.tasks) * len(spec.seeds)


def test_same_recipe_same_bytes(tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]], tmp_path: Path) -> None:
    spec, data = tiny_data["speech-selection"]
    again = PreparedData(spec, prepare(spec, root=tmp_path / "again"))
    assert again.file_hashes == data.file_hashes and again.sha256 == data.sha256


def test_changed_data_is_refused(tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]], tmp_path: Path) -> None:
    spec, data = tiny_data["vision-cleaning"]
    folder = Path(shutil.copytree(data.folder, tmp_path / "d"))  # a prepared copy to spoil
    PreparedData(spec, folder)
    with open(folder / "train.f32", "r+b") as fh:
        fh.seek(8)
        fh.write(b"\x00\x00\x80\x7f")
    with pytest.raises(DataError, match=r"train\.f32: sha256 is .* Croissant records"):
        PreparedData(spec, folder)


def test_preparation_records_every_digest_in_the_stamp_cache(
    tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]], tmp_path: Path
) -> None:
    spec, _ = tiny_data["vision-selection"]
    folder = prepare(spec, root=tmp_path / "fresh")
    for bundle in (folder, folder / PUBLIC_DIR):
        recorded = read_file_hashes(bundle / "croissant.json")
        cache = json.loads((bundle / STAMP_CACHE).read_text())
        assert set(cache) == set(recorded)  # every file, and nothing hidden (no cache of a cache)
        for name, (stamp, sha) in cache.items():
            st = (bundle / name).stat()
            assert stamp == [st.st_size, st.st_mtime_ns, st.st_ino] and sha == recorded[name]
    assert not [p.name for p in (folder / PUBLIC_DIR).iterdir() if p.name.startswith(".") and p.name != STAMP_CACHE]
    # the first check after preparation trusts the recorded digests: a same-size, same-time
    # change is not read (the stamp check), while any changed stamp is hashed and refused
    pool = folder / "pool.f32"
    st = pool.stat()
    with open(pool, "r+b") as fh:
        fh.write(b"\x01\x02\x03\x04")
    os.utime(pool, ns=(st.st_atime_ns, st.st_mtime_ns))
    PreparedData(spec, folder)
    os.utime(pool, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    with pytest.raises(DataError, match=r"pool\.f32: sha256 is .* Croissant records"):
        PreparedData(spec, folder)


def test_many_files_hash_in_parallel_as_one_by_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(5):
        paths.append(tmp_path / f"f{i}.bin")
        paths[-1].write_bytes(rng.bytes(int(rng.integers(0, 3 << 20))))
    assert sha256_files(paths) == {p: sha256_file(p) for p in paths}
    cache = tmp_path / STAMP_CACHE
    assert cached_sha256s(paths, cache) == {p: sha256_file(p) for p in paths}
    assert set(json.loads(cache.read_text())) == {p.name for p in paths}


def test_missing_prepared_data_says_how_to_fix(tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]]) -> None:
    spec, _ = tiny_data["vision-selection"]
    with pytest.raises(DataError, match="run 'dataperf prepare vision-selection' first"):
        PreparedData(spec, Path("/nonexistent/dataperf"))


def test_metrics_against_hand_counts() -> None:
    y = np.array([1, 1, 0, 0, 1])
    p = np.array([1, 0, 0, 1, 1])
    assert f1(y, p, 2) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert accuracy(y, p, 2) == pytest.approx(3 / 5)
    assert macro_f1(y, p, 2) == pytest.approx((2 / 3 + 1 / 2) / 2)  # class 0: tp 1, fp 1, fn 1
    assert f1(np.zeros(3, int), np.zeros(3, int), 2) == 0.0


def test_summary_and_interval() -> None:
    scores = {"a": {0: 0.5, 1: 0.7}, "b": {0: 0.1, 1: 0.3}}
    means, mean, ci = summarize(scores, [0, 1])
    assert means == {"a": pytest.approx(0.6), "b": pytest.approx(0.2)} and mean == pytest.approx(0.4)
    assert ci is not None and ci[0] < 0.4 < ci[1]
    # two seeds of overall means 0.3 and 0.5: t(0.975, 1) = 12.706
    assert ci[1] - 0.4 == pytest.approx(12.7062 * np.std([0.3, 0.5], ddof=1) / np.sqrt(2), rel=1e-4)
    assert confidence_interval([0.3]) is None


def test_checkpoints_cover_every_stride() -> None:
    assert checkpoints(5, 1) == [0, 1, 2, 3, 4, 5]
    assert checkpoints(10, 4) == [0, 4, 8, 10]


def test_rows_reads_exactly_the_selected_rows(tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]]) -> None:
    _, data = tiny_data["vision-selection"]
    pool = data.split("pool")
    ids = pool.ids[[7, 3, 4, 5, len(pool.ids) - 1, 3, 0]]  # unsorted, a run, a repeat, both ends
    assert np.array_equal(pool.rows(ids), np.asarray(pool.x[pool.positions(ids)]))
    assert pool.rows(ids[:0]).shape == (0, pool.x.shape[1])


def test_row_order_does_not_change_a_training_set_score(
    tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]], tmp_path: Path
) -> None:
    spec, data = tiny_data["vision-selection"]
    table = get_baseline(spec.kind, "random").build(spec, data, 0)
    shuffled = table.sample(frac=1.0, random_state=3).reset_index(drop=True)
    a = evaluate(spec, write_submission(table, tmp_path / "a.csv", spec.id), data=data)
    b = evaluate(spec, write_submission(shuffled, tmp_path / "b.csv", spec.id), data=data)
    assert a.same_scores(b)
