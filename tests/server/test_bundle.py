"""The public bundle download: what a participant gets, and never the private bundle."""

from __future__ import annotations

import hashlib
import io
import tarfile
from typing import Any

import pyarrow.parquet as pq

from tests.server.test_api import make_client, team  # the client fixture, and teams

__all__ = ["make_client"]


def test_the_download_is_the_public_bundle_with_its_sha256(make_client: Any, db_url: str) -> None:
    client = make_client()
    headers = team(db_url, "ada")
    got = client.get("/api/challenges/tiny-selection/bundle", headers=headers)
    assert got.status_code == 200 and got.headers["content-type"] == "application/octet-stream"
    sha = hashlib.sha256(got.content).hexdigest()
    assert got.headers["x-content-sha256"] == sha
    info = client.get("/api/challenges/tiny-selection/bundle/sha256").json()
    assert info == {
        "challenge": "tiny-selection",
        "file": "tiny-selection-v1-public.tar.gz",
        "sha256": sha,
        "bytes": len(got.content),
    }
    assert client.get("/api/challenges/tiny-selection/bundle").content == got.content  # the same for anyone
    with tarfile.open(fileobj=io.BytesIO(got.content), mode="r:gz") as tar:
        names = sorted(m.name for m in tar.getmembers() if m.isfile())
        assert "tiny-selection-v1/challenges/tiny-selection.yaml" in names
        data = [n for n in names if "/data/" in n]
        assert data and all("/data/tiny-selection/v1/public/" in n for n in data)
        assert not [n for n in names if "test-hidden" in n]
        for name in data:
            if name.endswith(".parquet"):
                table = pq.read_table(io.BytesIO(tar.extractfile(name).read()))  # type: ignore[union-attr]
                assert "label" not in table.column_names, name
    assert client.get("/api/challenges/nope/bundle", headers=headers).status_code == 404
