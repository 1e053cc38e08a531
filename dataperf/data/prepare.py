"""Build a challenge's prepared files deterministically from a real, offline source.

Layout of ``<data home>/data/<challenge>/v<version>/``:

- ``<split>.parquet``: id (int64, sorted), embedding (fixed-size float32 list), label (int16,
  the ground truth), public_label (int16, what participants see; noisy where the recipe says),
  split (string); for text sources also text (string), the example itself.
- ``<split>.f32``: the same embeddings as a raw row-major float32 matrix, so an evaluation
  can read only the rows it needs.
- ``examples.parquet``: the published positive examples per task (task, id).
- whatever public files the challenge's kind adds (:meth:`ChallengeKind.publish`).
- ``croissant.json``: Croissant metadata with each file's sha256, the licence and the recipe.
- ``public/``: the public bundle, what participants download (:mod:`dataperf.data.bundles`);
  not among the files above, so the data's sha256 is the private bundle's.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dataperf.contract import ChallengeSpec, NoiseSpec
from dataperf.data.bundles import PUBLIC_DIR, write_public
from dataperf.data.croissant import write_croissant
from dataperf.data.embed import embed
from dataperf.data.rai import file_docs, rai_fields, wrong_shares
from dataperf.data.sources import SOURCES, Raw
from dataperf.errors import SpecError
from dataperf.hashing import hash_folder
from dataperf.paths import data_dir

Progress = Callable[[str], None]


def _draw(
    spec: ChallengeSpec, raw: dict[str, Raw], domains: dict[str, np.ndarray]
) -> dict[str, tuple[str, np.ndarray]]:
    """Return, per prepared split, its source split and sorted row indices into it.

    Each source split is shuffled once (seeded); every prepared split, in the recipe's order,
    takes the first ``size`` rows of that order that no earlier split took and that lie in its
    ``domain`` when it names one (``domains``: each source row's domain).
    """
    rng = np.random.default_rng(spec.data.seed)
    perms = {name: rng.permutation(len(r)) for name, r in sorted(raw.items())}
    taken = {name: np.zeros(len(r), dtype=bool) for name, r in raw.items()}
    out: dict[str, tuple[str, np.ndarray]] = {}
    for name, sp in spec.data.splits.items():
        src = sp.source_split
        if src not in raw:
            raise SpecError(
                f"{spec.id}: data.splits.{name}.source_split '{src}' is not a split "
                f"of source '{spec.data.source}' (it has {sorted(raw)})"
            )
        free = perms[src][~taken[src][perms[src]]]
        where = f"source split '{src}'"
        if sp.domain is not None:
            free = free[domains[src][free] == sp.domain]
            where = f"domain {sp.domain} of {where}"
        if sp.size > len(free):
            raise SpecError(
                f"{spec.id}: data.splits.{name} asks for {sp.size} rows of {where}, which has "
                f"{len(free)} left (of {len(raw[src])} rows) after the splits before it"
            )
        pick = free[: sp.size] if sp.mix is None else _mixed(spec, name, free, raw[src].y, where)
        taken[src][pick] = True
        out[name] = (src, np.sort(pick))
    return out


def mix_counts(mix: list[float], size: int) -> np.ndarray:
    """Return how many of ``size`` rows each class gets under the weights ``mix``: the
    proportional shares rounded down, the rows left over going to the largest remainders
    (ties to the lower class)."""
    w = np.asarray(mix, dtype=np.float64)
    exact = size * w / w.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.lexsort((np.arange(len(w)), -(exact - counts)))
    counts[order[: size - int(counts.sum())]] += 1
    return counts


def _mixed(spec: ChallengeSpec, name: str, free: np.ndarray, y: np.ndarray, where: str) -> np.ndarray:
    """Return the rows of a split with a class mix: per class, the first free rows of that class."""
    sp = spec.data.splits[name]
    assert sp.mix is not None
    n_classes = int(y.max()) + 1 if len(y) else 0
    if len(sp.mix) != n_classes:
        raise SpecError(
            f"{spec.id}: data.splits.{name}.mix must hold one weight per source class ({n_classes}), got {len(sp.mix)}"
        )
    parts = []
    for c, n in enumerate(mix_counts(sp.mix, sp.size)):
        rows = free[y[free] == c]
        if n > len(rows):
            raise SpecError(
                f"{spec.id}: data.splits.{name} asks for {n} rows of class {c} of {where}, which has "
                f"{len(rows)} left after the splits before it"
            )
        parts.append(rows[:n])
    return np.concatenate(parts)


def _domains(spec: ChallengeSpec, raw: dict[str, Raw], fit_split: str) -> dict[str, np.ndarray]:
    """Return each row's domain for every source split some prepared split draws a domain
    from (see :class:`dataperf.contract.DomainSpec`); empty when the recipe has no domains."""
    rule = spec.data.domains
    wanted: list[str] = sorted({sp.source_split for sp in spec.data.splits.values() if sp.domain is not None})
    if rule is None or not wanted:
        return {}
    from scipy.cluster.hierarchy import fcluster, linkage

    for src in wanted:
        if src in raw and len(raw[src]) > rule.max_rows:
            raise SpecError(
                f"{spec.id}: data.domains groups source split '{src}' of {len(raw[src])} rows; "
                f"at most data.domains.max_rows ({rule.max_rows}) can be grouped"
            )
    assert spec.data.embedding is not None
    embs = embed(spec.data.embedding, raw[fit_split], {src: raw[src] for src in wanted if src in raw})
    out: dict[str, np.ndarray] = {}
    for src, x in embs.items():
        g = x.astype(np.float64)
        y = raw[src].y
        for c in np.unique(y):
            rows = y == c
            sd = g[rows].std(axis=0)
            g[rows] = (g[rows] - g[rows].mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        groups = fcluster(linkage(g, method="ward"), t=rule.count, criterion="maxclust")
        # number the groups by their first row in the source
        _, first = np.unique(groups, return_index=True)
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first)] = np.arange(len(first))
        out[src] = rank[np.searchsorted(np.unique(groups), groups)]
    return out


def _collapse(spec: ChallengeSpec, y: np.ndarray, n_source_classes: int) -> np.ndarray:
    targets = spec.data.targets
    n_classes = n_source_classes if targets is None else len(targets) + 1
    if len(spec.classes) != n_classes:
        raise SpecError(f"{spec.id}: classes must list {n_classes} names, got {len(spec.classes)}")
    if targets is None:
        return y
    lut = np.full(n_source_classes, len(targets), dtype=np.int64)
    lut[np.asarray(targets)] = np.arange(len(targets))
    return lut[y]


def _noisy(
    noise: NoiseSpec,
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    confusable: tuple[tuple[int, int], ...],
    seed: int | list[int],
) -> np.ndarray:
    """Return public labels for one split: the truth with the recipe's noise applied."""
    rng = np.random.default_rng([*([seed] if isinstance(seed, int) else seed), 1])
    if noise.method == "machine":
        # A weak, uncertain labeller: nearest class centroids fitted on a small seeded share
        # of the split; each label is drawn from a softmax over the centroid distances.
        n_fit = min(len(y), max(5 * n_classes, int(round(noise.share * len(y)))))
        fit = rng.choice(len(y), size=n_fit, replace=False)
        xf, yf = x[fit].astype(np.float64), y[fit]
        cents = np.stack(
            [xf[yf == c].mean(axis=0) if np.any(yf == c) else np.full(x.shape[1], 1e6) for c in range(n_classes)]
        )
        d = ((x[:, None, :].astype(np.float64) - cents[None, :, :]) ** 2).sum(axis=2)
        z = np.exp(-(d - d.min(axis=1, keepdims=True)) / noise.temperature)
        cum = np.cumsum(z / z.sum(axis=1, keepdims=True), axis=1)
        return np.minimum((cum < rng.random(len(y))[:, None]).sum(axis=1), n_classes - 1).astype(np.int64)
    public = y.copy()
    n_flip = int(round(noise.share * len(y)))
    flip = rng.choice(len(y), size=n_flip, replace=False)
    partners: dict[int, list[int]] = {}
    for a, b in confusable:
        if a < n_classes and b < n_classes:
            partners.setdefault(a, []).append(b)
            partners.setdefault(b, []).append(a)
    use_conf = rng.random(n_flip) < noise.confusable
    for i, conf in zip(flip, use_conf, strict=True):
        true = int(y[i])
        if conf and true in partners:
            public[i] = partners[true][rng.integers(len(partners[true]))]
        else:
            other = rng.integers(n_classes - 1)
            public[i] = other if other < true else other + 1
    return public


def _write_split(
    folder: Path,
    name: str,
    ids: np.ndarray,
    emb: np.ndarray,
    y: np.ndarray,
    public: np.ndarray,
    text: tuple[str, ...] | None = None,
) -> None:
    dim = emb.shape[1]
    flat = pa.array(emb.reshape(-1), type=pa.float32())
    columns = {
        "id": pa.array(ids, type=pa.int64()),
        "embedding": pa.FixedSizeListArray.from_arrays(flat, dim),
        "label": pa.array(y.astype(np.int16), type=pa.int16()),
        "public_label": pa.array(public.astype(np.int16), type=pa.int16()),
        "split": pa.array([name] * len(ids), type=pa.string()),
    }
    if text is not None:
        columns["text"] = pa.array(text, type=pa.string())
    table = pa.table(columns)
    pq.write_table(table, folder / f"{name}.parquet", compression="zstd", row_group_size=65536)
    emb.astype("<f4", copy=False).tofile(folder / f"{name}.f32")


def prepare(
    spec: ChallengeSpec,
    *,
    force: bool = False,
    progress: Progress | None = None,
    root: Path | None = None,
    base: Path | None = None,
) -> Path:
    """Build (or reuse) the prepared data of ``spec`` and return its folder.

    ``base``: the folder ``data.files`` paths are relative to (default: the folder of the spec's
    file among the loaded challenges). Raises SpecError when the recipe does not fit the source
    or the organizer's tables are refused, and DataError when the source is missing or corrupt.
    The build happens in a temporary folder renamed into place, so a crash or a refusal never
    leaves half-written data behind.
    """
    say = progress or (lambda _msg: None)
    folder = root if root is not None else data_dir(spec.id, spec.version)
    if (folder / "croissant.json").exists() and not force:
        if not (folder / PUBLIC_DIR / "croissant.json").exists():  # prepared before bundles were split
            say(f"{spec.id}: writing the public bundle (what participants download)")
            part = folder / f".{PUBLIC_DIR}.tmp{os.getpid()}"
            try:
                write_public(spec, folder, part)
                shutil.rmtree(folder / PUBLIC_DIR, ignore_errors=True)
                os.replace(part, folder / PUBLIC_DIR)
            except PermissionError as e:  # a read-only data home: the private bundle still serves
                say(f"{spec.id}: no public bundle written ({e})")
            finally:
                shutil.rmtree(part, ignore_errors=True)
        return folder
    tmp = folder.parent / f".{folder.name}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if spec.data.from_files:
            licence, citation, text = _build_from_files(spec, tmp, base, say)
        else:
            licence, citation, text = _build_from_source(spec, tmp, say)
        from dataperf.kinds import kind_of

        kind_of(spec).publish(spec, tmp)
        say(f"{spec.id}: hashing and writing Croissant metadata")
        files = hash_folder(tmp)  # recorded in the stamp cache: the first evaluation reads no file twice
        wrong = wrong_shares(tmp, spec.data.split_names())
        write_croissant(
            tmp / "croissant.json",
            name=spec.id,
            version=spec.version,
            description=spec.title,
            licence=licence,
            citation=citation,
            recipe=json.loads(spec.data.model_dump_json()),
            files=files,
            splits=spec.data.split_names(),
            text=text,
            folder=tmp,
            date_published=spec.published,
            rai=rai_fields(spec, citation=citation, licence=licence, wrong=wrong),
            file_docs=file_docs(spec, list(files)),
        )
        say(f"{spec.id}: writing the public bundle (what participants download)")
        write_public(spec, tmp, tmp / PUBLIC_DIR)
        if folder.exists():
            shutil.rmtree(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _build_from_source(spec: ChallengeSpec, tmp: Path, say: Progress) -> tuple[str, str, bool]:
    """Write the splits and examples of a registered source's recipe into ``tmp``; return
    the source's licence and citation, and whether its splits carry text."""
    assert spec.data.embedding is not None  # the recipe's validator requires it for a source
    source = SOURCES.get(spec.data.source)
    say(f"{spec.id}: reading {source.name}")
    raw = source.load()
    offsets, acc = {}, 0
    for name in sorted(raw, key=lambda n: (n != "train", n)):
        offsets[name], acc = acc, acc + len(raw[name])
    fit_split = "train" if "train" in raw else "all"
    if spec.data.domains is not None:
        say(f"{spec.id}: grouping rows into {spec.data.domains.count} domains ({spec.data.domains.method})")
    draws = _draw(spec, raw, _domains(spec, raw, fit_split))
    subsets = {name: _subset(raw[src], idx) for name, (src, idx) in draws.items()}
    say(f"{spec.id}: embedding ({spec.data.embedding.method}, dim {spec.data.embedding.dim})")
    embs = embed(spec.data.embedding, raw[fit_split], subsets)
    n_source_classes = len(source.classes)
    labels = {n: _collapse(spec, s.y, n_source_classes) for n, s in subsets.items()}
    noise = spec.data.noise
    if noise is not None and noise.split not in subsets:
        raise SpecError(f"{spec.id}: data.noise.split '{noise.split}' is not a split")
    for k, (name, (src, idx)) in enumerate(draws.items()):
        y = labels[name]
        public = y
        if noise is not None and noise.split == name:
            public = _noisy(noise, embs[name], y, len(spec.classes), source.confusable, spec.data.seed)
        flip = spec.data.splits[name].flip
        if flip is not None:
            rule = NoiseSpec(split=name, method="flip", flip_share=flip, confusable=1.0)
            public = _noisy(rule, embs[name], public, len(spec.classes), source.confusable, [spec.data.seed, 3, k])
        _write_split(tmp, name, idx + offsets[src], embs[name], y, public, subsets[name].text)
    pool = next(iter(draws))
    src, idx = draws[pool]
    _write_examples(spec, tmp, idx + offsets[src], labels[pool])
    return source.licence, source.citation, raw[fit_split].text is not None


def _build_from_files(spec: ChallengeSpec, tmp: Path, base: Path | None, say: Progress) -> tuple[str, str, bool]:
    """Write the splits and examples of a ``source: files`` recipe into ``tmp``; return the
    spec's licence, a citation naming the challenge, and False (the tables carry no text)."""
    from dataperf.data.files import load_tables

    if base is None:
        from dataperf.challenges import spec_folder

        base = spec_folder(spec.id)
    say(f"{spec.id}: reading and checking the data files in {base}")
    tables = load_tables(spec, base)
    first = next(iter(tables.values()))
    xs = {name: t.x for name, t in tables.items()}
    if spec.data.embedding is not None:
        say(f"{spec.id}: embedding ({spec.data.embedding.method}, dim {spec.data.embedding.dim})")
        fit_on = Raw(x=first.x, y=first.labels)
        xs = embed(spec.data.embedding, fit_on, {n: Raw(x=t.x, y=t.labels) for n, t in tables.items()})
    noise = spec.data.noise
    if noise is not None and noise.split not in tables:
        raise SpecError(f"{spec.id}: data.noise.split '{noise.split}' is not a split")
    for name, t in tables.items():
        public = t.public
        if noise is not None and noise.split == name:
            public = _noisy(noise, xs[name], t.labels, len(spec.classes), (), spec.data.seed)
        _write_split(tmp, name, t.ids, np.ascontiguousarray(xs[name], dtype=np.float32), t.labels, public)
    _write_examples(spec, tmp, first.ids, first.labels)
    return spec.licence, f"{spec.title} (challenge {spec.id}, the organizer's own data)", False


def _subset(raw: Raw, idx: np.ndarray) -> Raw:
    """Return the examples ``idx`` of ``raw`` (all their frames, for sequence sources)."""
    if raw.text is not None:
        return Raw(x=raw.x[idx], y=raw.y[idx], text=tuple(raw.text[i] for i in idx))
    if raw.lengths is None:
        return Raw(x=raw.x[idx], y=raw.y[idx])
    starts = np.concatenate([[0], np.cumsum(raw.lengths)[:-1]])
    frames = np.concatenate([raw.x[starts[i] : starts[i] + raw.lengths[i]] for i in idx])
    return Raw(x=frames, y=raw.y[idx], lengths=raw.lengths[idx])


def _write_examples(spec: ChallengeSpec, folder: Path, pool_ids: np.ndarray, pool_labels: np.ndarray) -> None:
    """Write ``examples.parquet``: per task with ``examples``, that many known positives of the
    pool (the first split), drawn by the recipe's seed."""
    tasks, ids = [], []
    for t in spec.tasks:
        if t.examples and t.positive is not None:
            pos = np.flatnonzero(pool_labels == t.positive)
            if len(pos) < t.examples:
                raise SpecError(f"{spec.id}: task '{t.name}' asks for {t.examples} examples, the pool has {len(pos)}")
            rng = np.random.default_rng([spec.data.seed, 2, t.positive])
            chosen = np.sort(rng.choice(pos, size=t.examples, replace=False))
            tasks += [t.name] * len(chosen)
            ids += list(pool_ids[chosen])
    table = pa.table({"task": pa.array(tasks, type=pa.string()), "id": pa.array(ids, type=pa.int64())})
    pq.write_table(table, folder / "examples.parquet", compression="zstd")
