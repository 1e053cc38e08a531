"""The public bundle of a challenge as a download (what participants may have of its data).

Only the public bundle is ever served: features, public labels, published examples, the dev
split and Croissant metadata (:mod:`dataperf.data.bundles`); the ground truth and the hidden
split stay in the server's data home.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from dataperf.errors import DataError
from leaderboard.http.api.deps import challenge
from leaderboard.http.api.models.common import ChallengeId, Closed
from leaderboard.http.errors import ApiError
from leaderboard.http.openapi import BINARY, errors

router = APIRouter(tags=["challenges"])
OCTETS = "application/octet-stream"
ARCHIVE = {OCTETS: {"schema": BINARY}}
"""The download is a .tar.gz (named in Content-Disposition) served as bytes, as every file is."""


class BundleDigest(Closed):
    """What the public bundle's download is: its file name, sha256 and size."""

    challenge: ChallengeId
    file: str
    sha256: str
    bytes: int


def _archive(challenge_id: str) -> tuple[bytes, str, str]:
    """Return the archive, its sha256 and its file name; 404 when the challenge has no public bundle."""
    from dataperf.data.bundles import public_archive

    spec = challenge(challenge_id)
    try:
        data = public_archive(spec)
    except DataError as e:
        raise ApiError(404, "not_found", f"{challenge_id}: no public bundle on this server ({e})") from None
    return data, hashlib.sha256(data).hexdigest(), f"{spec.id}-v{spec.version}-public.tar.gz"


@router.get(
    "/challenges/{challenge_id}/bundle",
    summary="Download the public bundle (.tar.gz)",
    operation_id="get_bundle",
    response_class=Response,
    responses=errors(404, ok={"content": ARCHIVE, "description": "The public bundle; its sha256 in X-Content-SHA256"}),
)
def bundle(challenge_id: str) -> Response:
    """Return the challenge's public bundle as a ``.tar.gz`` (its sha256 in ``X-Content-SHA256``)."""
    data, sha, name = _archive(challenge_id)
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "X-Content-SHA256": sha, "ETag": f'"{sha}"'}
    return Response(content=data, media_type=OCTETS, headers=headers)


@router.get(
    "/challenges/{challenge_id}/bundle/sha256",
    summary="The public bundle's sha256 and size",
    operation_id="get_bundle_sha256",
    response_model=BundleDigest,
    responses=errors(404),
)
def bundle_sha256(challenge_id: str) -> dict[str, Any]:
    """Return the file name, sha256 and size of the public bundle's download."""
    data, sha, name = _archive(challenge_id)
    return {"challenge": challenge_id, "file": name, "sha256": sha, "bytes": len(data)}
