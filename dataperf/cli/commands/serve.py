"""``dataperf serve``: run the leaderboard server (API and web pages)."""

from __future__ import annotations

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import db_option


@make_command(
    "serve",
    "Run the leaderboard server: JSON API, web pages, uploads (migrates the database first)",
    examples=["dataperf serve", "dataperf serve --port 8080 --db postgresql+psycopg://me@127.0.0.1/dataperf"],
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on")
@click.option("--port", type=int, default=8000, show_default=True, help="Port")
@db_option
@click.option("--max-upload-mb", type=float, default=None, help="Largest accepted upload in MiB (default: 256)")
@click.option(
    "--rate-scale",
    type=float,
    default=1.0,
    metavar="FACTOR",
    help="Multiply every rate limit by FACTOR, e.g. for a load test or an API fuzzer (default: 1)",
)
def command(host: str, port: int, db: str | None, max_upload_mb: float | None, rate_scale: float) -> int:
    """Serve until interrupted."""
    from leaderboard.http.api.deps import Settings
    from leaderboard.http.app import serve

    settings = Settings(db_url=db)
    if max_upload_mb is not None:
        settings = Settings(db_url=db, max_upload_bytes=int(max_upload_mb * 1024 * 1024))
    if rate_scale <= 0:
        from dataperf.errors import InputError, param_error

        raise InputError(param_error("--rate-scale", "dataperf serve", "a positive number", rate_scale))
    if rate_scale != 1.0:
        settings = settings.with_rates_scaled(rate_scale)
    print(f"dataperf server on http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
    serve(host, port, settings=settings)
    return 0
