"""Croissant metadata for prepared data: each file's sha256, the licence and the recipe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


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
) -> None:
    """Write a Croissant JSON-LD file describing ``files`` (name -> sha256) to ``path``, with
    one RecordSet per split holding ``columns`` (integers).

    ``text``: the splits also have a ``text`` column (the raw example of a text source).
    """
    import mlcroissant as mlc  # heavy; imported only when data is prepared

    dist = [
        mlc.FileObject(
            id=fname,
            name=fname,
            content_url=fname,
            encoding_formats=["application/x-parquet" if fname.endswith(".parquet") else "application/octet-stream"],
            sha256=sha,
        )
        for fname, sha in sorted(files.items())
    ]

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
    meta = mlc.Metadata(
        name=name,
        description=description,
        license=[licence],
        cite_as=citation,
        version=f"{version}.0.0",
        distribution=dist,
        record_sets=record_sets,
        data_preprocessing_protocol=[json.dumps(recipe, sort_keys=True)],
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
