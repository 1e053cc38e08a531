"""``dataperf serve``: run the leaderboard server (API and web pages)."""

from __future__ import annotations

import argparse

from dataperf.cli import arguments, command


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--db", metavar="URL", help="database URL (default: $DATAPERF_DB, else SQLite in the data home)")
    p.add_argument("--max-upload-mb", type=float, default=None, help="largest accepted upload in MiB (default: 256)")
    p.add_argument(
        "--rate-scale",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="multiply every rate limit by FACTOR, e.g. for a load test or an API fuzzer (default: 1)",
    )


@command(
    "serve",
    help="run the leaderboard server: JSON API, web pages, uploads (migrates the database first)",
    examples="  dataperf serve\n  dataperf serve --port 8080 --db postgresql+psycopg://me@127.0.0.1/dataperf",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from leaderboard.http.api.deps import Settings
    from leaderboard.http.app import serve

    settings = Settings(db_url=args.db)
    if args.max_upload_mb is not None:
        settings = Settings(db_url=args.db, max_upload_bytes=int(args.max_upload_mb * 1024 * 1024))
    if args.rate_scale <= 0:
        from dataperf.errors import InputError, param_error

        raise InputError(param_error("--rate-scale", "dataperf serve", "a positive number", args.rate_scale))
    if args.rate_scale != 1.0:
        settings = settings.with_rates_scaled(args.rate_scale)
    print(f"dataperf server on http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    serve(args.host, args.port, settings=settings)
    return 0
