"""The dataperf server: the FastAPI app (JSON API under ``/api``, web pages, local static
assets) and :func:`serve`, which migrates the database and runs it with uvicorn.

Every refusal is JSON ``{"error": reason, "code": ...}`` with a 4xx status. The OpenAPI schema
is at ``/api/openapi.json``; there is no Swagger page because it would load assets from a CDN.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from leaderboard.http.api.deps import Settings, State
from leaderboard.http.errors import ApiError


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
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.dp = State(settings, session_factory(settings.db_url), ViewCache())
    for mod in (challenges, submissions, account, bundle):
        app.include_router(mod.router, prefix="/api")
    app.get("/api/health", tags=["meta"], summary="Liveness")(_health)
    pages.mount(app)
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    return app


def _health() -> dict[str, str]:
    return {"status": "ok"}


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Any:
    if exc.status_code == 404 and not request.url.path.startswith("/api"):
        from leaderboard.http.web.pages import error_page

        return error_page(request, 404, "page not found")
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse({"error": str(exc.detail), "code": code}, status_code=exc.status_code)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
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
