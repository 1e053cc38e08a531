"""Croissant metadata for prepared data: each file's sha256, the licence and the recipe.

With ``folder`` (the prepared folder being described), every file is a FileObject with what it
holds, every Parquet table is a RecordSet whose fields are all its columns with their types
(an embedding is a float list of fixed length, ``arrayShape``), every raw ``.f32`` matrix is
described with its shape, and the Responsible-AI fields that apply (how the data were
collected and labelled, the noise process, the licences, limitations, uses) come from ``rai``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RAI_KEYS = (
    "data_collection",
    "data_collection_type",
    "data_annotation_protocol",
    "data_preprocessing_protocol",
    "machine_annotation_tools",
    "data_biases",
    "data_limitations",
    "data_use_cases",
    "personal_sensitive_information",
    "data_release_maintenance_plan",
)
"""The Responsible-AI (``rai:``) properties a caller may give, by their mlcroissant names."""

FILE_ROLES = {
    ".parquet": (
        "application/x-parquet",
        "A table (Parquet, zstd); its columns are described by the RecordSet named after it.",
    ),
    ".f32": ("application/octet-stream", "A raw matrix"),
    ".json": ("application/json", "JSON"),
}


def _dtype(mlc: Any, arrow_type: Any) -> tuple[Any, int | None]:
    """Return (Croissant data type, fixed list length or None) of an Arrow column type."""
    import pyarrow as pa

    if pa.types.is_fixed_size_list(arrow_type):
        return _dtype(mlc, arrow_type.value_type)[0], int(arrow_type.list_size)
    if pa.types.is_integer(arrow_type):
        return mlc.DataType.INTEGER, None
    if pa.types.is_floating(arrow_type):
        return mlc.DataType.FLOAT, None
    if pa.types.is_boolean(arrow_type):
        return mlc.DataType.BOOL, None
    return mlc.DataType.TEXT, None


COLUMN_DOCS = {
    "id": "Row id (int64), unique within the challenge's data, sorted.",
    "embedding": "The row's embedding: a float32 vector of fixed length (the recipe's embedding).",
    "label": "Ground-truth class index (int16).",
    "public_label": "The class index participants see (int16): the ground truth, or a noisy label where the "
    "recipe's noise applies, or -1 where the labels are not published.",
    "split": "The name of the prepared split the row belongs to.",
    "text": "The raw text example the embedding was computed from.",
    "task": "A task name of the challenge.",
}


def _schema_sets(mlc: Any, folder: Path, names: list[str]) -> tuple[list[Any], dict[str, str]]:
    """Return a RecordSet per Parquet table and a description per raw matrix file."""
    import pyarrow.parquet as pq

    sets, shapes = [], {}
    for fname in names:
        path = folder / fname
        if fname.endswith(".parquet"):
            schema = pq.read_schema(path)
            rows = pq.ParquetFile(path).metadata.num_rows
            stem = fname.removesuffix(".parquet")
            fields = []
            for col in schema:
                dtype, length = _dtype(mlc, col.type)
                fields.append(
                    mlc.Field(
                        id=f"{stem}/{col.name}",
                        name=col.name,
                        description=COLUMN_DOCS.get(col.name, f"Column {col.name}."),
                        data_types=[dtype],
                        is_array=length is not None,
                        array_shape=str(length) if length is not None else None,
                        source=mlc.Source(file_object=fname, extract=mlc.Extract(column=col.name)),
                    )
                )
            sets.append(mlc.RecordSet(id=stem, name=stem, description=f"{rows} rows of {fname}.", fields=fields))
        elif fname.endswith(".f32"):
            twin = folder / f"{fname.removesuffix('.f32')}.parquet"
            size = path.stat().st_size // 4
            if twin.exists():
                rows = pq.ParquetFile(twin).metadata.num_rows
                dim = size // rows if rows else 0
                shapes[fname] = (
                    f"The embeddings of {twin.name} as a raw row-major little-endian float32 matrix of shape "
                    f"({rows}, {dim}), rows in the table's order (no header)."
                )
            else:
                shapes[fname] = f"A raw little-endian float32 array of {size} values (no header)."
    return sets, shapes


def write_croissant(
    path: Path,
    *,
    name: str,
    version: int,
    description: str,
    licence: str,
    citation: str,
    recipe: dict[str, Any],
    files: dict[str, str],
    splits: list[str],
    columns: tuple[str, ...] = ("id", "label", "public_label"),
    text: bool = False,
    folder: Path | None = None,
    date_published: str | None = None,
    rai: dict[str, str] | None = None,
    file_docs: dict[str, str] | None = None,
) -> None:
    """Write a Croissant JSON-LD file describing ``files`` (name -> sha256) to ``path``.

    Without ``folder``: one RecordSet per split holding ``columns`` (integers; ``text``: also a
    text column). With ``folder`` (where the files are): every Parquet file's RecordSet holds
    all its columns with their types, and raw matrices are described with their shapes.
    ``date_published`` (ISO date), ``rai`` (see :data:`RAI_KEYS`) and ``file_docs`` (what a
    file holds, by name) are written when given.
    """
    import datetime

    import mlcroissant as mlc  # heavy; imported only when data is prepared

    names = sorted(files)
    shapes: dict[str, str] = {}
    if folder is not None:
        record_sets, shapes = _schema_sets(mlc, folder, names)
    else:

        def field(split: str, col: str, dtype: Any) -> Any:
            return mlc.Field(
                id=f"{split}/{col}",
                name=col,
                data_types=[dtype],
                source=mlc.Source(file_object=f"{split}.parquet", extract=mlc.Extract(column=col)),
            )

        record_sets = [
            mlc.RecordSet(
                id=split,
                name=split,
                fields=[
                    *(field(split, col, mlc.DataType.INTEGER) for col in columns),
                    *([field(split, "text", mlc.DataType.TEXT)] if text else []),
                ],
            )
            for split in splits
        ]
    docs = file_docs or {}
    dist = []
    for fname in names:
        fmt, role = FILE_ROLES.get(Path(fname).suffix, ("application/octet-stream", "A file"))
        what = docs.get(fname) or shapes.get(fname) or role
        dist.append(
            mlc.FileObject(
                id=fname,
                name=fname,
                description=what,
                content_url=fname,
                content_size=f"{(folder / fname).stat().st_size} B" if folder is not None else None,
                encoding_formats=[fmt],
                sha256=files[fname],
            )
        )
    extra = {k: v for k, v in (rai or {}).items() if k in RAI_KEYS and v}
    preprocessing = [json.dumps(recipe, sort_keys=True)]
    if "data_preprocessing_protocol" in extra:
        preprocessing.insert(0, extra.pop("data_preprocessing_protocol"))
    meta = mlc.Metadata(
        name=name,
        description=description,
        license=[licence],
        cite_as=citation,
        version=f"{version}.0.0",
        date_published=datetime.datetime.fromisoformat(date_published) if date_published else None,
        distribution=dist,
        record_sets=record_sets,
        data_preprocessing_protocol=preprocessing,
        **extra,
    )
    doc = meta.to_json()
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")


def read_file_hashes(path: Path) -> dict[str, str]:
    """Return {file name: sha256} recorded in a Croissant file written by dataperf."""
    doc = json.loads(path.read_text())
    out = {}
    for entry in doc.get("distribution", []):
        out[str(entry["contentUrl"])] = str(entry["sha256"])
    return out
