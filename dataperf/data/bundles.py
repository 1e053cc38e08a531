"""The public bundle: what participants of a challenge version may download.

``dataperf prepare`` writes the private bundle (every split with its ground truth: what the
server scores with) and, from it, the public bundle in its ``public/`` folder. The challenge's
kind says what participants get of each split (:meth:`ChallengeKind.share`):

- ``labelled``: features and labels (a dev split; its public labels are its truth),
- ``public-labels``: features and the public labels, the ``label`` column (the truth) left out,
- ``features``: features only (public labels written as -1),
- ``private``: nothing.

Every public Parquet file holds ``id``, ``embedding``, ``public_label`` and ``split``; no public
file holds a ``label`` column. ``bundle.json`` names the bundle and each split's share;
``croissant.json`` records every public file's sha256. The same private bundle gives the same
public bytes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dataperf.contract import ChallengeSpec, Share
from dataperf.data.croissant import write_croissant
from dataperf.data.prepared import BUNDLE_FILE
from dataperf.data.rai import file_docs, rai_fields
from dataperf.hashing import hash_folder

PUBLIC_DIR = "public"
"""The public bundle's folder inside a prepared folder."""
PUBLIC_COLUMNS = ("id", "embedding", "public_label", "split")


def shares(spec: ChallengeSpec, private: Path) -> dict[str, Share]:
    """Return what the public bundle holds of each split of the private bundle at ``private``:
    the kind's :meth:`share`, with a ``labelled`` split whose public labels are not its truth
    published with its public labels only."""
    from dataperf.kinds import kind_of

    out = kind_of(spec).share(spec)
    for name, share in out.items():
        if share is Share.LABELLED:
            t = pq.read_table(private / f"{name}.parquet", columns=["label", "public_label"])
            if not np.array_equal(t.column("label").to_numpy(), t.column("public_label").to_numpy()):
                out[name] = Share.PUBLIC_LABELS
    return out


def kind_files(spec: ChallengeSpec, private: Path) -> list[str]:
    """Return the files the kind's :meth:`~dataperf.contract.ChallengeKind.publish` wrote into
    the private bundle at ``private``: every file that is neither a split's nor the bundle's own."""
    own = {"examples.parquet", "croissant.json", BUNDLE_FILE}
    own |= {f"{n}{ext}" for n in spec.data.split_names() for ext in (".parquet", ".f32")}
    return sorted(p.name for p in private.iterdir() if p.is_file() and p.name not in own and not p.name.startswith("."))


def write_public(spec: ChallengeSpec, private: Path, out: Path) -> Path:
    """Write the public bundle of the private bundle at ``private`` into ``out`` (replaced)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    plan = shares(spec, private)
    published = [n for n in spec.data.split_names() if plan.get(n, Share.PRIVATE) is not Share.PRIVATE]
    for name in published:
        t = pq.read_table(private / f"{name}.parquet")
        if plan[name] is Share.FEATURES:
            t = t.set_column(
                t.schema.get_field_index("public_label"),
                "public_label",
                pa.array(np.full(t.num_rows, -1, dtype=np.int16), type=pa.int16()),
            )
        t = t.select(list(PUBLIC_COLUMNS))
        pq.write_table(t, out / f"{name}.parquet", compression="zstd", row_group_size=65536)
        shutil.copyfile(private / f"{name}.f32", out / f"{name}.f32")
    shutil.copyfile(private / "examples.parquet", out / "examples.parquet")
    for extra in kind_files(spec, private):  # what the kind published beside the splits (its market, ...)
        shutil.copyfile(private / extra, out / extra)
    manifest = {
        "challenge": spec.id,
        "version": spec.version,
        "bundle": "public",
        "splits": {n: plan[n].value for n in published},
    }
    (out / BUNDLE_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    files = hash_folder(out)
    write_croissant(
        out / "croissant.json",
        name=spec.id,
        version=spec.version,
        description=f"{spec.title} (public bundle)",
        licence=spec.licence,
        citation=f"dataperf challenge {spec.id} v{spec.version}",
        recipe={"bundle": "public", "splits": manifest["splits"], "data": json.loads(spec.data.model_dump_json())},
        files=files,
        splits=published,
        columns=("id", "public_label"),
        folder=out,
        date_published=spec.published,
        rai=rai_fields(spec, citation=f"dataperf challenge {spec.id} v{spec.version}", licence=spec.licence),
        file_docs=file_docs(spec, list(files)),
    )
    return out


def export_public(spec: ChallengeSpec, out: Path) -> Path:
    """Write a folder a participant can be sent: ``challenges/`` (the spec, and its pair's for
    a dual) and ``data/<id>/v<version>/public/`` (the public bundle); return ``out``.

    A participant points dataperf at it with ``DATAPERF_HOME=out`` and ``--challenges
    out/challenges``. Raises DataError when the challenge was not prepared.
    """
    import yaml

    from dataperf.challenges import get_challenge
    from dataperf.errors import DataError
    from dataperf.paths import data_dir
    from dataperf.testing import to_document

    source = data_dir(spec.id, spec.version) / PUBLIC_DIR
    if not (source / "croissant.json").exists():
        raise DataError(f"no public bundle of {spec.id} v{spec.version}: run 'dataperf prepare {spec.id}' first")
    specs = out / "challenges"
    specs.mkdir(parents=True, exist_ok=True)
    for s in [spec] + ([get_challenge(spec.pair)] if spec.pair else []):
        (specs / f"{s.id}.yaml").write_text(yaml.safe_dump(to_document(s), sort_keys=False))
    target = out / "data" / spec.id / f"v{spec.version}" / PUBLIC_DIR
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*"))
    return out


def public_archive(spec: ChallengeSpec) -> bytes:
    """Return the exported public bundle of ``spec`` as a deterministic ``.tar.gz`` (sorted
    names, no times or owners), the download the server offers."""
    import gzip
    import io
    import tarfile
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dataperf-bundle-") as tmp:
        root = export_public(spec, Path(tmp) / f"{spec.id}-v{spec.version}")
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(root.rglob("*")):
                info = tar.gettarinfo(str(path), arcname=str(path.relative_to(root.parent)))
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                info.mode = 0o755 if path.is_dir() else 0o644
                if path.is_file():
                    with path.open("rb") as fh:
                        tar.addfile(info, fh)
                else:
                    tar.addfile(info)
    return gzip.compress(raw.getvalue(), mtime=0)
