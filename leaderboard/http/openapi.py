"""The API's published contract: its version, the error answers each operation declares, the
bearer security scheme, the upload's request bodies, and the schema served at
``/api/openapi.json``.

The schema is versioned like the evaluator: ``info.version`` is :data:`API_VERSION`, bumped
whenever the contract changes (a path, a parameter, a field, a status). The test suite compares
the served schema with a committed snapshot (``tests/server/openapi.snapshot.json``), so every
change is deliberate; ``DATAPERF_UPDATE_SNAPSHOT=1`` rewrites it.

Closed sets of values are named enums (``ChallengeId``, ``ChallengeKind``, ``SubmissionStatus``,
``JobState``, ``Direction``), filled from the registries and tables that own them when the
schema is served.
"""

from __future__ import annotations

from typing import Any, get_args

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from leaderboard.http.api.models.common import ENUM_KEY, Error

API_VERSION = "1.3.0"
"""The version of the HTTP API's contract (``info.version`` of the schema)."""

BEARER = "bearer"
"""The name of the security scheme: a team's API token as ``Authorization: Bearer <token>``."""
REQUIRED_AUTH: dict[str, Any] = {"security": [{BEARER: []}]}
"""An operation that refuses (401) a request without a valid token."""
OPTIONAL_AUTH: dict[str, Any] = {"security": [{BEARER: []}, {}]}
"""An operation open to anyone that shows the token's team more (an unknown token is a 401)."""

ERRORS: dict[int, str] = {
    401: "No API token, or an unknown or revoked one (code no_token or bad_token)",
    403: "The submission belongs to another team (code wrong_team)",
    404: "No such challenge, challenge version or submission (code not_found; an unknown challenge id gets "
    "suggestions, an unknown version the list of known ones)",
    413: "The upload is over the size limit (code too_large, with the limit in bytes)",
    422: "The request or the uploaded file is invalid (codes bad_request, bad_filename, empty_upload, "
    "invalid_submission with every violation listed); nothing is stored or charged",
    429: "Over a limit: the team's daily quota (code over_quota, with the quota and its reset time) or a "
    "rate limit on token checks, uploads, concurrent uploads or refused uploads (code too_many_*); "
    "Retry-After gives the seconds to wait",
    503: "The database is busy (code database_busy: the embedded SQLite database, under more writes than "
    "it can take at once) and the request did not complete; Retry-After gives the seconds to wait. An upload "
    "sent again that was stored meanwhile is answered as that submission and not charged again",
    507: "The server's disk is full (code storage_full); nothing is stored or charged",
}
TOKEN_CHECKS = (401,)
"""A route that checks a token (it can answer 401) is also under the token-check rate limits (429)."""
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}


def errors(*statuses: int, ok: dict[str, Any] | None = None) -> dict[int | str, dict[str, Any]]:
    """Return the ``responses`` entries declaring the error model for ``statuses`` (and ``ok``
    as the 200 answer's declaration, when the route's own is not enough)."""
    out: dict[int | str, dict[str, Any]] = {200: ok} if ok else {}
    if set(statuses) & set(TOKEN_CHECKS):
        statuses = tuple(sorted(set(statuses) | {429}))
    for status in statuses:
        entry: dict[str, Any] = {"model": Error, "description": ERRORS[status]}
        if status in (429, 503):
            entry["headers"] = RETRY_AFTER
        out[status] = entry
    return out


BINARY = {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The submission file: the raw bytes, or a form with the file in the part 'file' "
        "(browsers, curl -F). Either way it is streamed to disk under the size limit.",
        "content": {
            "application/octet-stream": {"schema": BINARY},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "title": "UploadForm",
                    "required": ["file"],
                    "properties": {"file": BINARY},
                },
                "encoding": {"file": {"contentType": "application/octet-stream"}},
            },
        },
    }
}
"""The upload's request bodies (read from the stream by the route, not by FastAPI)."""


def enums() -> dict[str, list[str]]:
    """Return every named enum of the schema with its values now."""
    from dataperf.challenges import challenges
    from dataperf.contract import MetricSpec
    from dataperf.kinds import KINDS
    from leaderboard.storage.server_tables import JOB_STATES
    from leaderboard.storage.tables import STATUSES

    return {
        "ChallengeId": list(challenges().names()),
        "ChallengeKind": list(KINDS.names()),
        "SubmissionStatus": list(STATUSES),
        "JobState": list(JOB_STATES),
        "Direction": list(get_args(MetricSpec.model_fields["direction"].annotation)),
    }


def build(app: FastAPI, values: dict[str, list[str]]) -> dict[str, Any]:
    """Return the OpenAPI schema of ``app`` with the enums ``values``."""
    schema = get_openapi(
        title=app.title,
        version=API_VERSION,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "A team's API token ('dataperf admin create-team' prints it once)",
        }
    }
    for item in schema.get("paths", {}).values():
        for op in item.values():
            _drop_framework_422(op)
            for param in op.get("parameters", []):
                if param["in"] == "path" and param["name"] == "challenge_id":
                    param["schema"] = {"type": "string", ENUM_KEY: "ChallengeId"}
    named = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        named.pop(name, None)
    for name, options in values.items():
        if name in named:
            raise ValueError(f"the enum {name} has the name of a model of the schema")
        named[name] = {"type": "string", "enum": options, "title": name}
    components["schemas"] = dict(sorted(named.items()))
    return _refer(schema)  # type: ignore[no-any-return]


def _drop_framework_422(op: dict[str, Any]) -> None:
    """Remove the framework's own 422 answer where the operation declares none: such an
    operation's only checked parameters are ids in its path, answered 404."""
    answer = op.get("responses", {}).get("422", {})
    ref = answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    if ref.endswith("/HTTPValidationError"):
        del op["responses"]["422"]


def _refer(node: Any) -> Any:
    """Return ``node`` with every schema marked by ``ENUM_KEY`` replaced by a reference to its
    named enum (keeping its description and title)."""
    if isinstance(node, list):
        return [_refer(x) for x in node]
    if not isinstance(node, dict):
        return node
    if ENUM_KEY in node:
        keep = {k: v for k, v in node.items() if k in ("description", "title", "default")}
        return {"$ref": f"#/components/schemas/{node[ENUM_KEY]}", **keep}
    return {k: _refer(v) for k, v in node.items()}


def install(app: FastAPI) -> None:
    """Serve :func:`build`'s schema from ``app``, rebuilt when a named enum's values changed."""
    cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        values = enums()
        if cache.get("values") != values:
            cache["schema"] = build(app, values)
            cache["values"] = values
        return cache["schema"]  # type: ignore[no-any-return]

    app.openapi = openapi  # type: ignore[method-assign]
