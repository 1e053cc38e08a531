"""The Responsible-AI description of a challenge's prepared data, from its recipe: how the
data were collected and labelled, the noise process, licences, limitations and uses (the
``rai:`` properties of its Croissant file), and what each prepared file holds."""

from __future__ import annotations

from pathlib import Path

from dataperf.contract import ChallengeSpec


def _noise_protocol(spec: ChallengeSpec) -> str:
    noise = spec.data.noise
    parts = ["Ground-truth labels (column label) are the source's own labels"]
    if spec.data.targets is not None:
        parts[0] += f"; source classes outside {spec.data.targets} are collapsed into one 'other' class"
    parts[0] += "."
    if noise is None:
        parts.append("No label noise is applied by the recipe's data.noise.")
    elif noise.method == "machine":
        parts.append(
            f"The public labels of split '{noise.split}' are machine-made: a nearest-class-centroid labeller "
            f"is fitted on a seeded share fit_share = {noise.fit_share} of the split (at least 5 rows per class), "
            "and each row's public label is drawn from a softmax over its negative squared distances to the "
            f"centroids divided by temperature = {noise.temperature}. fit_share is not a share of wrong labels."
        )
    else:
        parts.append(
            f"The public labels of split '{noise.split}' are flipped: round(flip_share * rows) rows, flip_share = "
            f"{noise.flip_share}, chosen at random, get a wrong label; a share confusable = {noise.confusable} "
            "of them goes to the class's confusable partner, the rest to a random other class."
        )
    flips = {n: s.flip for n, s in spec.data.splits.items() if s.flip}
    if flips:
        parts.append(f"Splits with their own flipped share of public labels: {flips}.")
    parts.append("Every random choice is seeded by the recipe's data.seed, so the labels are the same on every build.")
    return " ".join(parts)


def rai_fields(
    spec: ChallengeSpec, *, citation: str, licence: str, wrong: dict[str, float] | None = None
) -> dict[str, str]:
    """Return the ``rai:`` properties (mlcroissant names) of ``spec``'s prepared data.

    ``wrong``: per split, the measured share of public labels that differ from the truth (only
    in the server's private bundle: it is derived from the hidden labels).
    """
    recipe = spec.data
    source = "the organizer's own tables (data.files)" if recipe.from_files else f"the data source '{recipe.source}'"
    annotation = _noise_protocol(spec)
    if wrong:
        shares = ", ".join(f"{n}: {v:.4f}" for n, v in sorted(wrong.items()))
        annotation += f" Measured share of public labels that are wrong, per split: {shares}."
    emb = recipe.embedding
    embedding = (
        f"Embeddings: method {emb.method}, {emb.dim} float32 values per row, fitted on {emb.fit_rows} rows "
        f"(seed {emb.seed}), rounded to 4 decimals."
        if emb is not None
        else "Features as the organizer's tables give them."
    )
    return {
        "data_collection": f"Rows drawn from {source} ({citation}), without replacement, by a seeded shuffle "
        "(data.seed); each prepared split takes rows no earlier split took.",
        "data_collection_type": "Secondary data: an existing, published dataset, redistributed offline.",
        "data_annotation_protocol": annotation,
        "data_preprocessing_protocol": embedding + " The full recipe follows as JSON.",
        "machine_annotation_tools": "The recipe's seeded nearest-centroid labeller (data.noise, method machine)."
        if recipe.noise is not None and recipe.noise.method == "machine"
        else "",
        "data_biases": "The class mix of each split follows the source's (unless a split sets mix); "
        "a split drawn from one domain (data.domains) covers that domain only.",
        "data_limitations": "A benchmark's data: small embeddings of a public dataset, fixed by a recipe; "
        "scores measure data selection for the challenge's fixed model, not a deployed system. "
        f"Source licence: {licence}; the challenge's data licence: {spec.licence}.",
        "data_use_cases": f"Scoring submissions to the dataperf challenge '{spec.id}' (version {spec.version}) "
        "with its fixed model; not for training production models.",
        "personal_sensitive_information": "None known: the source's published examples (images, "
        "recordings or short texts), reduced to embeddings; no identities are recorded.",
        "data_release_maintenance_plan": "Versioned with the challenge: any change that can move a score "
        "bumps the challenge version and rebuilds the data.",
    }


def file_docs(spec: ChallengeSpec, names: list[str]) -> dict[str, str]:
    """Return what each prepared file in ``names`` holds (files not named here keep a generic note)."""
    out = {
        "examples.parquet": "The published known positives per task (columns task, id).",
        "bundle.json": "What the public bundle holds: the challenge, its version and each published split's share.",
    }
    for split in spec.data.split_names():
        out[f"{split}.parquet"] = f"Split '{split}': one row per example (id, embedding, labels, split name)."
    return {n: d for n, d in out.items() if n in names}


def wrong_shares(folder: Path, splits: list[str]) -> dict[str, float]:
    """Return, per split of ``folder`` with both label columns, the share of public labels
    that differ from the ground truth (splits without noise included: 0.0)."""
    import numpy as np
    import pyarrow.parquet as pq

    out = {}
    for split in splits:
        path = folder / f"{split}.parquet"
        if not path.exists() or not {"label", "public_label"} <= set(pq.read_schema(path).names):
            continue
        t = pq.read_table(path, columns=["label", "public_label"])
        label, public = t.column("label").to_numpy(), t.column("public_label").to_numpy()
        out[split] = float(np.mean(label != public)) if len(label) else 0.0
    return out
