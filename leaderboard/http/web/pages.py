"""HTML pages: the challenge list, a challenge's leaderboards and charts, a submission, login.

Everything is rendered by Jinja with autoescaping; charts are drawn in the browser by
plotly.js, served from the installed ``plotly`` package (no CDN).
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from leaderboard.boards import boards
from leaderboard.boards.cache import stamp
from leaderboard.boards.visibility import for_participants
from leaderboard.http.api.deps import COOKIE, caller, challenge, public_spec, state
from leaderboard.http.api.submissions import describe
from leaderboard.http.errors import ApiError
from leaderboard.jobs.auth import team_for_token

HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def env() -> Any:
    """Return the Jinja environment (autoescape on for every template)."""
    import jinja2

    e = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    e.filters["num"] = _num
    e.filters["ci"] = _ci
    return e


def _num(v: Any, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _ci(v: Any) -> str:
    if not v:
        return "—"
    return f"[{v[0]:.3f}, {v[1]:.3f}]"


def render(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    """Return template ``name`` rendered with ``ctx``."""
    return HTMLResponse(env().get_template(name).render(**ctx), status_code=status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """Return an HTML error page."""
    return render("error.html", status, title=f"Error {status}", message=message, team=None)


@lru_cache(maxsize=1)
def plotly_js() -> bytes:
    """Return plotly.min.js from the installed plotly package."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


def _team(request: Request) -> str | None:
    try:
        who = caller(request, allow_cookie=True)
    except ApiError:
        return None
    return who.team if who else None


def index(request: Request) -> HTMLResponse:
    """The challenge list."""
    from dataperf.challenges import challenges
    from leaderboard.jobs.hosting import retired_ids

    reg = challenges()
    with state(request).sessions() as s:
        gone = retired_ids(s)
    specs = [public_spec(reg.get(n)) for n in reg.names() if n not in gone]
    return render("index.html", title="Challenges", challenges=specs, team=_team(request))


def challenge_page(challenge_id: str, request: Request, page: int = 1) -> HTMLResponse:
    """A challenge: its leaderboard (paged), the matrix heatmap and the ratchet history.

    The rendered page is cached per (challenge, page, team) until the database stamp changes.
    """
    try:
        spec = challenge(challenge_id)
    except ApiError as e:
        return error_page(request, 404, e.message)
    st = state(request)
    team = _team(request)
    with st.sessions() as s:
        current = stamp(s)
        view = for_participants(s, challenge_id)

    def build_board() -> dict[str, Any]:
        with st.sessions() as s:
            return boards.board(s, challenge_id, view)

    def build_html() -> bytes:
        board = st.cache.get(("board", challenge_id, str(view)), current, build_board)
        size = st.settings.page_size
        pages = max(1, math.ceil(len(board["rows"]) / size))
        at = min(max(1, page), pages)
        rows = board["rows"][(at - 1) * size : at * size]
        body = render(
            "challenge.html",
            title=spec.title,
            spec=public_spec(spec),
            board=board,
            rows=rows,
            page=at,
            pages=pages,
            total=len(board["rows"]),
            team=team,
        ).body
        return bytes(body)

    return HTMLResponse(st.cache.get(("html", challenge_id, page, team, str(view)), current, build_html))


def submission_page(submission_id: int, request: Request) -> HTMLResponse:
    """A submission: status, queue position, provenance, and for its own team the log."""
    try:
        sub = describe(request, submission_id, allow_cookie=True)
    except ApiError as e:
        return error_page(request, e.status, e.message)
    return render("submission.html", title=f"Submission {submission_id}", sub=sub, team=_team(request))


def login_form(request: Request) -> HTMLResponse:
    """The form that stores a team token in a cookie (for reading logs in the browser)."""
    return render("login.html", title="Log in", error=None, team=_team(request))


def login(request: Request, token: str = Form(...)) -> Response:
    """Check the token and keep it in an HttpOnly, SameSite=Strict cookie."""
    with state(request).sessions() as s:
        who = team_for_token(s, token.strip())
    if who is None:
        return render("login.html", 401, title="Log in", error="unknown or revoked token", team=None)
    resp = RedirectResponse("/", status_code=303)
    resp.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict", max_age=30 * 86400)
    return resp


def logout() -> Response:
    """Forget the token cookie."""
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp


def plotly_route() -> Response:
    """Serve plotly.min.js (cached by the browser for a day)."""
    return Response(
        plotly_js(), media_type="application/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )


def mount(app: FastAPI) -> None:
    """Add the pages and the static assets to ``app``."""
    app.get("/static/plotly.min.js", include_in_schema=False)(plotly_route)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.get("/", response_class=HTMLResponse, include_in_schema=False)(index)
    app.get("/challenges/{challenge_id}", response_class=HTMLResponse, include_in_schema=False)(challenge_page)
    app.get("/submissions/{submission_id}", response_class=HTMLResponse, include_in_schema=False)(submission_page)
    app.get("/login", response_class=HTMLResponse, include_in_schema=False)(login_form)
    app.post("/login", include_in_schema=False)(login)
    app.post("/logout", include_in_schema=False)(logout)
