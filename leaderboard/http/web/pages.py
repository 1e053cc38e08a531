"""HTML pages: the challenge list, a challenge's leaderboards and charts, a submission, login.

Everything is rendered by Jinja with autoescaping; charts are drawn in the browser by
plotly.js, served from the installed ``plotly`` package (no CDN).
"""

from __future__ import annotations

import math
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select

from leaderboard.boards import boards
from leaderboard.boards.cache import stamp
from leaderboard.boards.test_sets import as_rows, published_archive, published_sets
from leaderboard.boards.versions import UnknownVersionError, version_of
from leaderboard.boards.visibility import Visibility, for_participants
from leaderboard.http.api.challenges import version_links
from leaderboard.http.api.deps import COOKIE, SubmissionId, caller, challenge, check_token, is_https, public_spec, state
from leaderboard.http.api.submissions import describe
from leaderboard.http.errors import ApiError
from leaderboard.http.security import same_origin
from leaderboard.jobs.sessions import close_session, csrf_ok, csrf_token, open_session
from leaderboard.storage.tables import Submission

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
    return render("error.html", status, title=f"Error {status}", message=message, team=None, csrf="")


@lru_cache(maxsize=1)
def plotly_js() -> bytes:
    """Return plotly.min.js from the installed plotly package."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


PRELOGIN = "dataperf_prelogin"
"""The cookie whose CSRF token the login form carries (before there is a session)."""


def team_of(request: Request) -> str | None:
    try:
        who = caller(request, allow_cookie=True)
    except ApiError:
        return None
    return who.team if who else None


def logout_csrf(request: Request, team: str | None) -> str:
    """Return the CSRF token of the logout form for a logged-in page ('' otherwise)."""
    secret = request.cookies.get(COOKIE, "")
    return csrf_token(secret) if team and secret else ""


def _cookie(resp: Response, request: Request, name: str, value: str, max_age: int) -> None:
    """Set an HttpOnly, SameSite=Strict cookie, ``Secure`` when the site is served over TLS."""
    resp.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", secure=is_https(request), path="/")


def refuse_cross_site(request: Request) -> HTMLResponse | None:
    """Return a 403 page unless the form post comes from this site's own page."""
    if same_origin(request, is_https(request)):
        return None
    return error_page(request, 403, "this form must be sent from this site's own page (cross-site posts are refused)")


def index(request: Request) -> HTMLResponse:
    """The challenge list."""
    from dataperf.challenges import challenges
    from leaderboard.jobs.hosting import retired_ids

    reg = challenges()
    with state(request).sessions() as s:
        gone = retired_ids(s)
    specs = [public_spec(reg.get(n)) for n in reg.names() if n not in gone]
    team = team_of(request)
    return render("index.html", title="Challenges", challenges=specs, team=team, csrf=logout_csrf(request, team))


def cached_board(
    request: Request, challenge_id: str, version: int | None = None, now: tuple[Any, Visibility] | None = None
) -> dict[str, Any]:
    """Return the participants' board of ``challenge_id``'s version ``version`` (the current one
    when None), cached until the database stamp changes (``now``: the stamp and the view, when
    the caller just read them)."""
    st = state(request)
    if now is None:
        with st.sessions() as s:
            now = (stamp(s), for_participants(s, challenge_id))
    current, view = now

    def build_board() -> dict[str, Any]:
        with st.sessions() as s:
            return boards.board(s, challenge_id, view, version=version, paged=True)

    return dict(st.cache.get(("board", challenge_id, version, str(view)), current, build_board))


def rules_html(spec: Any) -> Any:
    """Return the challenge's rules page as markup safe to place in a template."""
    from markupsafe import Markup

    from dataperf.rules import render_html

    return Markup(render_html(spec))  # noqa: S704  # every value in it is escaped by render_html


def test_set_download(challenge_id: str, digest: str, request: Request) -> Response:
    """An accepted test set as a published dataset (rows, provenance, Croissant) in a ``.zip``;
    404 before the organizer publishes the challenge's hidden results."""
    try:
        challenge(challenge_id)
    except ApiError as e:
        return error_page(request, 404, e.message)
    with state(request).sessions() as s:
        found = published_archive(s, challenge_id, digest.removesuffix(".zip"))
    if found is None:
        return error_page(request, 404, f"{challenge_id}: no published test set {digest}")
    data, name = found
    return Response(
        data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def challenge_page(challenge_id: str, request: Request, page: int = 1, version: int | None = None) -> HTMLResponse:
    """A challenge: its leaderboard (paged), the matrix heatmap and the ratchet history, and
    links to the boards of its earlier versions. ``?version=N`` shows an earlier version's
    board read-only (its submissions are closed), under a banner saying what superseded it.

    The rendered page is cached per (challenge, version, page, team) until the database stamp changes.
    """
    try:
        challenge(challenge_id)
    except ApiError as e:
        return error_page(request, 404, e.message)
    st = state(request)
    team = team_of(request)
    with st.sessions() as s:
        try:
            ver = version_of(s, challenge_id, version)
        except UnknownVersionError as e:
            return error_page(request, 404, str(e))
        current = stamp(s)
        view = for_participants(s, challenge_id)
    spec = ver.spec
    shown = None if ver.current else ver.version
    board = cached_board(request, challenge_id, shown, (current, view))
    size = st.settings.page_size
    pages = max(1, math.ceil(len(board["rows"]) / size))
    at = min(max(1, page), pages)  # the cache key uses the page shown, so ?page=N cannot grow it

    def build_html() -> bytes:
        rows = board["rows"][(at - 1) * size : at * size]
        with st.sessions() as s:
            ids = [r["submission"] for r in rows]
            per_task = boards.task_means(s, challenge_id, view, version=shown, only=ids, board=board)
            published = as_rows(published_sets(s, challenge_id)) if ver.current else []
            versions = version_links(challenge_id, boards.versions(s, challenge_id))
        tasks = [t.name for t in spec.tasks] if any(per_task.values()) else []
        body = render(
            "challenge.html",
            title=spec.title if ver.current else f"{spec.title} (version {ver.version})",
            spec=public_spec(spec),
            board=board,
            rows=rows,
            page=at,
            pages=pages,
            total=len(board["rows"]),
            tasks=tasks,
            per_task=per_task,
            team=team,
            csrf=csrf,
            rules=rules_html(spec),
            test_sets=published,
            versions=versions,
            query="" if ver.current else f"version={ver.version}&",
        ).body
        return bytes(body)

    csrf = logout_csrf(request, team)
    key = ("html", challenge_id, shown, at, team, csrf, str(view))
    return HTMLResponse(st.cache.get(key, current, build_html))


def submission_page(submission_id: SubmissionId, request: Request) -> HTMLResponse:
    """A submission: status, queue position, provenance, and for its own team the log."""
    try:
        sub = describe(request, submission_id, allow_cookie=True)
    except ApiError as e:
        return error_page(request, e.status, e.message)
    from leaderboard.http.web.compare import candidates

    team = team_of(request)
    return render(
        "submission.html",
        title=f"Submission {submission_id}",
        sub=sub,
        place=_place(request, sub),
        charts=_charts(request, sub),
        others=candidates(request, sub),
        team=team,
        csrf=logout_csrf(request, team),
    )


def _charts(request: Request, sub: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the charts the submission's kind put in its result (``extra.charts``); a chart
    marked ``compare`` also gets the first series of the same chart of every baseline on the
    board (``baselines``), from what the viewer may see of their results."""
    charts = [dict(c) for c in ((sub.get("result") or {}).get("extra") or {}).get("charts", [])]
    wanted = {c["id"] for c in charts if c.get("compare")}
    if not wanted:
        return charts
    board = cached_board(request, sub["challenge"])
    shown_baselines = boards.baseline_rows(board)
    ids = [r["submission"] for r in shown_baselines if r["submission"] != sub["submission"]]
    labels = {r["submission"]: r["label"] for r in shown_baselines}
    st = state(request)
    with st.sessions() as s:
        view = for_participants(s, sub["challenge"])
        stored = s.execute(select(Submission).where(Submission.id.in_(ids))).scalars().all() if ids else []
        shown = {b.id: boards.result(b, view) for b in stored}
    for c in charts:
        c["baselines"] = []
        for sid in ids:
            theirs = ((shown.get(sid) or {}).get("extra") or {}).get("charts", [])
            same = [t for t in theirs if t.get("id") == c["id"] and t.get("series")]
            if same and c.get("compare"):
                c["baselines"].append(same[0]["series"][0] | {"name": f"baseline {labels.get(sid, sid)}"})
    return charts


def _place(request: Request, sub: dict[str, Any]) -> dict[str, Any] | None:
    """Return where a scored submission stands: its rank on the board as the viewer sees it,
    and the baselines' rows with its own, best first (None when it is not on the board)."""
    if sub["status"] != "done":
        return None
    board = cached_board(request, sub["challenge"])
    mine = boards.find_row(board, sub["submission"])
    if mine is None:
        return None
    first = board["layout"]["columns"][0]
    rows = sorted([*boards.baseline_rows(board), *([] if mine["baseline"] else [mine])], key=lambda r: r["rank"])
    return {
        "rank": mine["rank"],
        "of": len(board["rows"]),
        "scope": board["scope"],
        "key": first["key"],
        "label": first["label"],
        "rows": rows,
    }


def login_form(request: Request) -> HTMLResponse:
    """The form that exchanges a team token for a browser session (for reading logs in the
    browser). It carries a CSRF token bound to a pre-login cookie."""
    team = team_of(request)
    secret = request.cookies.get(PRELOGIN, "")
    fresh = not (secret.startswith("pre_") and len(secret) < 100)
    if fresh:
        secret = "pre_" + secrets.token_urlsafe(24)
    resp = render(
        "login.html",
        title="Log in",
        error=None,
        team=team,
        csrf=logout_csrf(request, team),
        login_csrf=csrf_token(secret),
    )
    if fresh:
        _cookie(resp, request, PRELOGIN, secret, 3600)
    return resp


def login(request: Request, token: str = Form(""), csrf: str = Form("")) -> Response:
    """Check the token and open a browser session: an HttpOnly, SameSite=Strict cookie holding
    a random session secret (not the token), ``Secure`` over TLS, expiring. Refused (403)
    unless the form comes from this site's own login page (Origin and CSRF token)."""
    refused = refuse_cross_site(request)
    if refused is not None:
        return refused
    if not csrf_ok(request.cookies.get(PRELOGIN, ""), csrf):
        return error_page(request, 403, "the login form has expired or did not come from this site: reload it")
    try:
        who = check_token(request, token.strip()) if token.strip() else None
    except ApiError as e:
        if e.status != 401:
            resp = error_page(request, e.status, e.message)
            resp.headers.update(e.headers)
            return resp
        who = None
    if who is None:
        secret = request.cookies.get(PRELOGIN, "")
        return render(
            "login.html",
            401,
            title="Log in",
            error="unknown or revoked token",
            team=None,
            csrf="",
            login_csrf=csrf_token(secret),
        )
    st = state(request)
    with st.sessions.begin() as s:
        secret = open_session(s, who.team_id, st.settings.session_ttl_s)
    done = RedirectResponse("/", status_code=303)
    _cookie(done, request, COOKIE, secret, int(st.settings.session_ttl_s))
    done.delete_cookie(PRELOGIN, path="/")
    return done


def logout(request: Request, csrf: str = Form("")) -> Response:
    """End the browser session (revoked on the server, cookie removed). Refused (403) unless
    the form comes from this site's own page with the session's CSRF token."""
    refused = refuse_cross_site(request)
    if refused is not None:
        return refused
    secret = request.cookies.get(COOKIE, "")
    if not csrf_ok(secret, csrf):
        return error_page(request, 403, "the logout form did not come from this site: reload the page")
    with state(request).sessions.begin() as s:
        close_session(s, secret)
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
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
    app.get("/challenges/{challenge_id}/test-sets/{digest}", include_in_schema=False)(test_set_download)
    app.get("/submissions/{submission_id}", response_class=HTMLResponse, include_in_schema=False)(submission_page)
    app.get("/login", response_class=HTMLResponse, include_in_schema=False)(login_form)
    app.post("/login", include_in_schema=False)(login)
    app.post("/logout", include_in_schema=False)(logout)
    from leaderboard.http.web import compare, participant

    app.post("/challenges/{challenge_id}/submit", include_in_schema=False)(participant.upload)
    app.get("/submissions/{submission_id}/live", include_in_schema=False)(participant.live)
    app.get("/submissions/{submission_id}/compare", response_class=HTMLResponse, include_in_schema=False)(
        compare.compare_page
    )
    app.get("/team", response_class=HTMLResponse, include_in_schema=False)(participant.team_page)
