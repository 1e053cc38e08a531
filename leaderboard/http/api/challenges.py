"""Challenges, leaderboards (JSON and CSV), the train x test matrix and the ratchet history."""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from leaderboard.boards import boards
from leaderboard.boards.cache import stamp
from leaderboard.boards.history import history as ratchet_history
from leaderboard.boards.versions import UnknownVersionError, version_of
from leaderboard.boards.visibility import for_participants, is_published
from leaderboard.http.api.deps import challenge, public_spec, state
from leaderboard.http.api.models.challenges import Board, Challenge, Challenges, History, Matrix
from leaderboard.http.errors import ApiError
from leaderboard.http.openapi import errors

CSV = "text/csv; charset=utf-8"
CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}

router = APIRouter(tags=["challenges"])


def cached(request: Request, key: tuple[Any, ...], challenge_id: str, build: Any) -> Any:
    """Return the view ``key`` of ``challenge_id`` as participants may see it now (public, or
    published once the organizer published) from the app's cache, rebuilding it when the data
    changed; ``build(session, visibility)`` computes it."""
    st = state(request)
    with st.sessions() as s:
        current = stamp(s)
        view = for_participants(s, challenge_id)

    def make() -> Any:
        with st.sessions() as s:
            return build(s, view)

    return st.cache.get((*key, str(view)), current, make)


DEFAULT_ROWS = 100
"""Rows of a leaderboard answered as JSON when the request names no ``limit``."""
MAX_ROWS = 1000
"""The most rows one JSON leaderboard answer holds (CSV answers every row)."""


VersionQuery = Annotated[
    int | None,
    Query(ge=1, description="The challenge version whose board is answered (default: the current one)"),
]


def board_for(request: Request, challenge_id: str, version: int | None = None) -> dict[str, Any]:
    """Return the shown leaderboard of ``challenge_id``'s version ``version`` (the current one
    when None; cached); ApiError 404 for an unknown challenge or version."""
    challenge(challenge_id)
    with state(request).sessions() as s:
        try:
            ver = version_of(s, challenge_id, version).version
        except UnknownVersionError as e:
            raise ApiError(404, "not_found", str(e)) from None
    return cached(  # type: ignore[no-any-return]
        request,
        ("board", challenge_id, ver),
        challenge_id,
        lambda s, v: boards.board(s, challenge_id, v, version=ver, paged=True),
    )


def version_links(challenge_id: str, versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return ``versions`` (see :func:`leaderboard.boards.boards.versions`) with the URLs of each
    one's JSON leaderboard and web page (the current one's without a version query)."""
    out = []
    for v in versions:
        query = "" if v["current"] else f"?version={v['version']}"
        page = f"/challenges/{challenge_id}{query}"
        out.append(v | {"leaderboard": f"/api/challenges/{challenge_id}/leaderboard{query}", "page": page})
    return out


def columns(board: dict[str, Any]) -> list[str]:
    """Return the CSV columns of a board (its kind's layout)."""
    return list(board["layout"]["table"])


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is read as a formula by spreadsheets."""


def safe_cell(value: Any) -> Any:
    """Return ``value`` as it may go into an exported CSV: text without Unicode format characters
    (a right-to-left override would make a name read as another) and, when it starts like a
    formula, prefixed with ``'`` so a spreadsheet shows it as text; numbers unchanged."""
    if not isinstance(value, str):
        return value
    text = "".join(ch for ch in value if unicodedata.category(ch) != "Cf")
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(board: dict[str, Any]) -> str:
    """Return a board's rows as CSV text (every text cell passed through :func:`safe_cell`)."""
    cols = columns(board)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([safe_cell(c) for c in cols])
    for r in board["rows"]:
        w.writerow(
            [";".join(f"{x:.6g}" for x in r[c]) if isinstance(r.get(c), list) else safe_cell(r.get(c)) for c in cols]
        )
    return buf.getvalue()


@router.get("/challenges", summary="List the challenges", operation_id="list_challenges", response_model=Challenges)
def list_challenges(request: Request) -> dict[str, Any]:
    """Return every listed challenge's public description (retired ones left out)."""
    from dataperf.challenges import challenges
    from leaderboard.jobs.hosting import retired_ids

    reg = challenges()
    with state(request).sessions() as s:
        gone = retired_ids(s)
    return {"challenges": [public_spec(reg.get(n)) for n in reg.names() if n not in gone]}


@router.get(
    "/challenges/{challenge_id}",
    summary="One challenge",
    operation_id="get_challenge",
    response_model=Challenge,
    responses=errors(404),
)
def get_one(challenge_id: str, request: Request) -> dict[str, Any]:
    """Return a challenge's public description, whether its hidden results are published, and
    its versions (the current one first, then the earlier ones whose boards stay readable)."""
    spec = challenge(challenge_id)
    with state(request).sessions() as s:
        published = is_published(s, challenge_id)
        versions = boards.versions(s, challenge_id)
    return public_spec(spec) | {"published": published, "versions": version_links(challenge_id, versions)}


@router.get(
    "/challenges/{challenge_id}/leaderboard",
    summary="Leaderboard (JSON or CSV)",
    operation_id="get_leaderboard",
    response_model=Board,
    response_model_exclude_unset=True,
    responses=errors(404, 422, ok={"content": CSV_CONTENT}),
)
def leaderboard(
    challenge_id: str,
    request: Request,
    format: Annotated[Literal["json", "csv"], Query(description="csv: the rows as CSV text")] = "json",
    offset: Annotated[int, Query(ge=0, description="JSON: rows skipped from the top (ranks offset + 1 on)")] = 0,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_ROWS,
            description=f"JSON: most rows answered (default {DEFAULT_ROWS}, at most {MAX_ROWS}); "
            "``total`` says how many the board has. CSV answers every row.",
        ),
    ] = DEFAULT_ROWS,
    version: VersionQuery = None,
) -> Any:
    """Return the leaderboard, best first, one page of rows (``offset``, ``limit``); ``format=csv``
    answers every row as CSV. ``version`` picks an earlier version's board (read-only: the
    submissions made against that version, as they were scored)."""
    board = board_for(request, challenge_id, version)
    if format == "csv":
        name = challenge_id if board["current"] else f"{challenge_id}-v{board['version']}"
        return Response(
            to_csv(board),
            media_type=CSV,
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return page_of(board, offset, limit)


def page_of(board: dict[str, Any], offset: int, limit: int) -> dict[str, Any]:
    """Return ``board`` with only rows ``offset`` to ``offset + limit`` and the paging fields."""
    rows = board["rows"]
    return board | {"rows": rows[offset : offset + limit], "total": len(rows), "offset": offset, "limit": limit}


@router.get(
    "/challenges/{challenge_id}/leaderboard.csv",
    summary="Leaderboard as CSV",
    operation_id="get_leaderboard_csv",
    response_class=Response,
    responses=errors(404, 422, ok={"content": CSV_CONTENT, "description": "One line per row, the layout's columns"}),
)
def leaderboard_csv(challenge_id: str, request: Request, version: VersionQuery = None) -> Response:
    """Return the leaderboard as CSV (the columns of the kind's layout); ``version`` picks an
    earlier version's board."""
    return Response(to_csv(board_for(request, challenge_id, version)), media_type=CSV)


@router.get(
    "/challenges/{challenge_id}/matrix",
    summary="Train x test matrix (no hidden cells)",
    operation_id="get_matrix",
    response_model=Matrix,
    response_model_exclude_unset=True,
    responses=errors(404, 422),
)
def matrix(
    challenge_id: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500, description="The best training sets shown")] = 60,
) -> Any:
    """Return the heatmap matrix of the challenge's ratchet problem, hidden test set left out."""
    challenge(challenge_id)
    return cached(
        request, ("matrix", challenge_id, limit), challenge_id, lambda s, v: boards.matrix(s, challenge_id, v, limit)
    )


@router.get(
    "/challenges/{challenge_id}/history",
    summary="Ratchet history",
    operation_id="get_history",
    response_model=History,
    response_model_exclude_unset=True,
    responses=errors(404),
)
def history(challenge_id: str, request: Request) -> Any:
    """Return the ratchet history (bar and best score over time) of the challenge's problem."""
    challenge(challenge_id)
    return cached(request, ("history", challenge_id), challenge_id, lambda s, v: ratchet_history(s, challenge_id, v))
