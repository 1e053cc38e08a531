"""The ``dataperf`` command line (click): one entry point, thin handlers over library functions.

Each module named in :data:`COMMAND_MODULES` (under :mod:`dataperf.cli.commands`) exposes one
click command or group as ``command``; adding a command is one module and one entry in that
list. Modules are imported only when their command is looked up, and they import the library
inside their handlers, so ``dataperf --help`` starts fast and a participant's install (no
extras) runs every command that needs none. A command whose extra is missing (the server,
docker or dask) stops with exit status 1 and names the extra to install.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from dataperf.cli.base import EXIT_STATUS, Group

COMMAND_MODULES: tuple[str, ...] = (
    "admin",
    "baseline",
    "challenges",
    "db",
    "diff",
    "evaluate",
    "export",
    "leaderboard",
    "login",
    "prepare",
    "quickstart",
    "ratchet",
    "rescore",
    "reproduce",
    "serve",
    "status",
    "submit",
    "validate",
    "worker",
)
"""The modules of :mod:`dataperf.cli.commands`, one per command, named as the command (``_``
for ``-``)."""

DESCRIPTION = (
    "Benchmark datasets, not models: prepare challenge data, build and validate submissions, "
    "score them locally with the server's evaluator, and run the leaderboard."
)


class Main(Group):
    """The ``dataperf`` group: its commands are loaded from :data:`COMMAND_MODULES` on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return every command name, sorted."""
        return sorted(m.replace("_", "-") for m in COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return the command ``cmd_name`` (importing its module), or None when there is none."""
        module = cmd_name.replace("-", "_")
        if module not in COMMAND_MODULES:
            return None
        cmd = importlib.import_module(f"dataperf.cli.commands.{module}").command
        if not isinstance(cmd, click.Command):
            raise TypeError(f"dataperf.cli.commands.{module}.command is not a click command")
        return cmd


def _add_challenge_dirs(ctx: click.Context, _param: click.Parameter, dirs: tuple[str, ...]) -> tuple[str, ...]:
    """Put ``--challenges`` folders into ``DATAPERF_CHALLENGES`` (so that processes this command
    starts see them too) for the command's duration."""
    if not dirs:
        return dirs
    before = os.environ.get("DATAPERF_CHALLENGES")
    os.environ["DATAPERF_CHALLENGES"] = os.pathsep.join(
        [*filter(None, (before or "").split(os.pathsep)), *map(os.path.abspath, dirs)]
    )

    def restore() -> None:
        if before is None:
            os.environ.pop("DATAPERF_CHALLENGES", None)
        else:
            os.environ["DATAPERF_CHALLENGES"] = before

    ctx.call_on_close(restore)
    return dirs


@click.group(
    "dataperf",
    cls=Main,
    help=DESCRIPTION,
    epilog="Run 'dataperf COMMAND --help' for a command's options and examples.\n\n"
    + EXIT_STATUS
    + '\n\n\b\nShell completion (bash; zsh and fish alike):\n  eval "$(_DATAPERF_COMPLETE=bash_source dataperf)"',
)
@click.option(
    "--challenges",
    "challenge_dirs",
    multiple=True,
    metavar="DIR",
    expose_value=False,
    is_eager=True,
    callback=_add_challenge_dirs,
    help="Also load the challenge specs in DIR (repeatable; adds to $DATAPERF_CHALLENGES and the built-in ones)",
)
def cli() -> None:
    """The ``dataperf`` group (its help is :data:`DESCRIPTION`)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: the process's arguments) and return its exit status:
    0 ok, 2 the input was refused (click usage errors included), 1 any other failure."""
    try:
        rv: Any = cli.main(args=list(argv) if argv is not None else None, prog_name="dataperf", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("dataperf: interrupted", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    return rv if isinstance(rv, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
