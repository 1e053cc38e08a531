"""The dataperf server: the FastAPI app (JSON API under ``/api``, web pages, local static
assets) and :func:`serve`, which migrates the database and runs it with uvicorn.

Every refusal is JSON ``{"error": reason, "code": ...}`` with a 4xx status and the headers the
refusal names (``Allow`` on 405, ``Retry-After`` on 429 and 503). A write that finds the
embedded SQLite database locked for longer than its busy timeout is answered 503
``database_busy`` (the transaction rolled back), not 500. An id in a path that no row can
have (not an integer from 1 to 2^63-1) is answered 404 before any route runs. The OpenAPI schema
is at ``/api/openapi.json`` (:mod:`leaderboard.http.openapi`); there is no Swagger page because it
would load assets from a CDN.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from leaderboard.http import openapi
from leaderboard.http.api.deps import Settings, State
from leaderboard.http.api.models.common import Health
from leaderboard.http.errors import ApiError
from leaderboard.http.security import add_security_headers


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the app for ``settings`` (the database must be migrated: see :func:`serve`)."""
    from leaderboard.boards.cache import ViewCache
    from leaderboard.http.api import account, bundle, challenges, submissions
    from leaderboard.http.web import pages
    from leaderboard.storage import server_tables  # noqa: F401 - the server tables share the metadata
    from leaderboard.storage.db import session_factory

    settings = settings or Settings()
    app = FastAPI(
        title="dataperf",
        summary="Benchmark datasets, not models",
        description="The dataperf leaderboard: challenges, boards, the data ratchet, submissions. "
        "Every refusal is {error, code, ...}; a team's API token goes in 'Authorization: Bearer <token>'.",
        version=openapi.API_VERSION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    sessions = session_factory(settings.db_url)
    app.state.dp = State(settings, sessions, ViewCache(), settings.limiter(sessions))
    for mod in (challenges, submissions, account, bundle):
        app.include_router(mod.router, prefix="/api")
    app.get("/api/health", tags=["meta"], summary="Liveness", operation_id="health", response_model=Health)(_health)
    pages.mount(app)
    add_security_headers(app)
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, _database_error)  # type: ignore[arg-type]
    openapi.install(app)
    return app


def _health() -> dict[str, str]:
    """The server answers."""
    return {"status": "ok"}


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


async def _http_error(request: Request, exc: StarletteHTTPException) -> Any:
    if exc.status_code == 404 and not _is_api(request):
        from leaderboard.http.web.pages import error_page

        return error_page(request, 404, "page not found")
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse({"error": str(exc.detail), "code": code}, status_code=exc.status_code, headers=exc.headers)


BUSY_RETRY_AFTER_S = 2
"""The Retry-After of a 503 ``database_busy`` answer."""


async def _database_error(request: Request, exc: OperationalError) -> Any:
    """Answer SQLite's "database is locked" (a write waited out the busy timeout behind other
    writers; the transaction rolled back) 503 with Retry-After; any other database error stays
    a server error."""
    if "database is locked" not in str(exc.orig):
        raise exc
    message = (
        "the database is busy with other writes and this request did not complete: send it again in "
        f"{BUSY_RETRY_AFTER_S} s (an upload stored meanwhile is answered as that submission, not charged twice)"
    )
    if not _is_api(request):
        from leaderboard.http.web.pages import error_page

        page = error_page(request, 503, message)
        page.headers["Retry-After"] = str(BUSY_RETRY_AFTER_S)
        return page
    return JSONResponse(
        {"error": message, "code": "database_busy"},
        status_code=503,
        headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
    )


async def _validation_error(request: Request, exc: RequestValidationError) -> Any:
    errors = exc.errors()
    if errors and all(e["loc"][0] == "path" for e in errors):
        what = ", ".join(f"{e['loc'][-1]} {e.get('input')!r}" for e in errors)
        message = f"{what} does not exist (ids are integers from 1 to 2^63-1)"
        if not _is_api(request):
            from leaderboard.http.web.pages import error_page

            return error_page(request, 404, message)
        return JSONResponse({"error": message, "code": "not_found"}, status_code=404)
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors]
    return JSONResponse({"error": "bad request: " + "; ".join(problems), "code": "bad_request"}, status_code=422)


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    db_url: str | None = None,
    log_level: str = "info",
    settings: Settings | None = None,
) -> None:
    """Migrate the database and serve the app on ``host:port`` until interrupted (blocking)."""
    import uvicorn

    from leaderboard.storage.db import upgrade

    settings = settings or Settings(db_url=db_url)
    upgrade(settings.db_url)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, access_log=False)
