"""The pieces every ``dataperf`` command is built from: the command and group classes that turn
errors into exit statuses, the shared options, and the help layout (examples, exit status).

A handler returns an int (its exit status, 0 when None) or raises: a
:class:`~dataperf.errors.DataPerfError` is printed as ``dataperf: error: ...`` (with ``--json``
also as a JSON document on stdout, violations included) and exits with the error's status (2 for
the InputError family, 1 otherwise); a module of a missing extra names the extra and exits 1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

EXIT_STATUS = (
    "\b\nExit status:\n"
    "  0  ok\n"
    "  2  the input was refused (a file, a spec, a name, an option, a usage error)\n"
    "  1  any other failure (a missing extra included)"
)
"""The exit statuses, as every command's help states them."""

HELP_HELP = "Show this message and exit"
DB_HELP = "Database URL (default: $DATAPERF_DB, else SQLite in the data home)"
SERVER_HELP = "Server (default: the one from 'dataperf login')"

F = TypeVar("F", bound=Callable[..., Any])


def epilog(examples: Sequence[str]) -> str:
    """Return a command's epilog: its examples (kept as written) and the exit statuses."""
    body = "\b\nExamples:\n" + "\n".join(f"  {e}" for e in examples) + "\n\n" if examples else ""
    return body + EXIT_STATUS


class _HelpStyle:
    """Mixin: the help option's text in the house style (sentence case, no trailing period)."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        opt = super().get_help_option(ctx)  # type: ignore[misc]
        if opt is not None:
            opt.help = HELP_HELP
        return opt  # type: ignore[no-any-return]


class Command(_HelpStyle, click.Command):
    """A ``dataperf`` command: its handler's return value is the exit status, and errors are
    reported as described in this module's docstring."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the handler; turn its outcome into an exit status."""
        try:
            rv = guarded(ctx, lambda: super(Command, self).invoke(ctx))
        except BrokenPipeError:
            ctx.exit(1)
        if rv:
            ctx.exit(int(rv))
        return 0


class Group(_HelpStyle, click.Group):
    """A ``dataperf`` group of commands (``admin``, ``db``); its commands are :class:`Command`."""

    command_class = Command


def guarded(ctx: click.Context, call: Callable[[], Any]) -> Any:
    """Return ``call()``; a DataPerfError (or a missing extra's module) is reported and ends the
    command with its exit status, an interrupt with 130."""
    from dataperf.errors import DataPerfError

    try:
        try:
            return call()
        except ModuleNotFoundError as e:  # an extra's module: say which extra to install
            from dataperf.extras import missing_extra

            missing = missing_extra(" ".join(ctx.command_path.split()[:2]), e)
            if missing is None:
                raise
            raise missing from None
    except DataPerfError as e:
        report(e, bool(ctx.params.get("as_json")))
        ctx.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("dataperf: interrupted", err=True)
        ctx.exit(130)


def report(error: Exception, as_json: bool) -> None:
    """Print a refusal or failure: with ``as_json`` as one JSON document on stdout (violations
    included), always as ``dataperf: error: ...`` on stderr (a rejected file's violations as a
    table)."""
    from dataperf.cli.output import print_json, violation_table
    from dataperf.errors import SubmissionError

    if as_json:
        doc: dict[str, object] = {"error": str(error), "type": type(error).__name__}
        if isinstance(error, SubmissionError):
            doc["violations"] = [v.to_dict() for v in error.violations]
        print_json(doc)
    shown = violation_table(error)
    if shown is None:
        print(f"dataperf: error: {error}", file=sys.stderr)
    else:
        headline = str(error).splitlines()[0]
        print(f"dataperf: error: {headline}\n{shown}", file=sys.stderr)


def command(
    name: str, short: str, help: str = "", examples: Sequence[str] = (), *, group: click.Group | None = None
) -> Callable[[Callable[..., Any]], Command]:
    """Return a decorator making a handler the :class:`Command` ``name``: ``short`` is its one-line
    help (sentence case, no trailing period), ``help`` what follows it, ``examples`` real
    command lines shown under its help. With ``group``, the command is added to that group."""

    def deco(fn: Callable[..., Any]) -> Command:
        text = short + "." + (f"\n\n{help}" if help else "")
        cmd = click.command(name, cls=Command, help=text, short_help=short, epilog=epilog(examples))(fn)
        if group is not None:
            group.add_command(cmd)
        return cmd

    return deco


def group(name: str, short: str, help: str = "", examples: Sequence[str] = ()) -> Group:
    """Return an empty :class:`Group` ``name`` with the same help layout as :func:`command`."""
    text = short + "." + (f"\n\n{help}" if help else "")
    return Group(name, help=text, short_help=short, epilog=epilog(examples))


def json_option(help: str = "Print JSON") -> Callable[[F], F]:
    """Return the ``--json`` option (its value reaches the handler as ``as_json``)."""
    return click.option("--json", "as_json", is_flag=True, help=help)


VIEWS = ("organizer", "public", "published")
"""Who a board is read as (see leaderboard.boards.visibility)."""


def view_option(fn: F) -> F:
    """Add the ``--view`` option: whose view of the board to show (default: the organizer's)."""
    return click.option(
        "--view",
        type=click.Choice(VIEWS),
        default="organizer",
        help="What to show: everything (organizer, the default), what participants see before the "
        "results are published (public), or after (published)",
    )(fn)


def db_option(fn: F) -> F:
    """Add the ``--db URL`` option."""
    return click.option("--db", metavar="URL", default=None, help=DB_HELP)(fn)


def server_option(fn: F) -> F:
    """Add the ``--server URL`` option."""
    return click.option("--server", metavar="URL", default=None, help=SERVER_HELP)(fn)
