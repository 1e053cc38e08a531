"""The ``dataperf`` command line: one entry point, thin handlers over library functions.

Each module in :mod:`dataperf.cli.commands` registers one sub-command in :data:`COMMANDS`;
heavy imports happen inside the handlers, so ``dataperf --help`` starts fast and a participant's
install (no extras) runs every command that needs none. A command whose extra is missing (the
server, docker or dask) stops with exit status 1 and names the extra to install.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dataperf.cli.output import print_json
from dataperf.errors import DataPerfError, SubmissionError
from dataperf.extras import missing_extra
from dataperf.registry import PluginRegistry


@dataclass(frozen=True)
class Command:
    """One sub-command: its help, its arguments, its handler and real examples."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    examples: str = ""


COMMANDS: PluginRegistry[Command] = PluginRegistry("command", "dataperf.cli.commands")


def command(
    name: str, help: str, examples: str = ""
) -> Callable[[Callable[[argparse.Namespace], int]], Callable[..., int]]:
    """Return a decorator registering a handler as sub-command ``name``; the handler's
    ``arguments`` attribute (set with :func:`arguments`) adds its flags."""

    def deco(fn: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
        add = getattr(fn, "arguments", lambda _p: None)
        COMMANDS.add(name, Command(name, help, add, fn, examples))
        return fn

    return deco


def arguments(add: Callable[[argparse.ArgumentParser], None]) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Return a decorator attaching an argument-adding function to a handler."""

    def deco(fn: Callable[..., int]) -> Callable[..., int]:
        fn.arguments = add  # type: ignore[attr-defined]
        return fn

    return deco


EXIT_STATUS = "exit status: 0 ok, 2 the input was refused (a file, a spec, a name, an option), 1 any other failure"


def build_parser() -> argparse.ArgumentParser:
    """Return the full argument parser, with one sub-parser per registered command."""
    parser = argparse.ArgumentParser(
        prog="dataperf",
        description="Benchmark datasets, not models: prepare challenge data, build and validate "
        "submissions, score them locally with the server's evaluator, and run the leaderboard.",
        epilog="Run 'dataperf COMMAND --help' for a command's flags and examples.\n\n" + EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--challenges",
        dest="challenge_dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="also load the challenge specs in DIR (repeatable; adds to $DATAPERF_CHALLENGES and the built-in ones)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS.names():
        cmd = COMMANDS.get(name)
        p = sub.add_parser(
            name,
            help=cmd.help.replace("%", "%%"),
            description=cmd.help,
            epilog=(f"examples:\n{cmd.examples}\n\n" if cmd.examples else "") + EXIT_STATUS,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        cmd.add_arguments(p)
        p.set_defaults(_handler=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status (0 ok, 2 the input was refused, 1 any other failure,
    a missing extra included)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    want_json = bool(getattr(args, "json", False))
    before = os.environ.get("DATAPERF_CHALLENGES")
    if args.challenge_dirs:  # in the environment, so that processes this command starts see them too
        os.environ["DATAPERF_CHALLENGES"] = os.pathsep.join(
            [*filter(None, (before or "").split(os.pathsep)), *map(os.path.abspath, args.challenge_dirs)]
        )
    try:
        try:
            return int(args._handler(args) or 0)
        except ModuleNotFoundError as e:  # an extra's module: say which extra to install
            missing = missing_extra(f"dataperf {args.command}", e)
            if missing is None:
                raise
            raise missing from None
    except DataPerfError as e:
        if want_json:
            doc: dict[str, object] = {"error": str(e), "type": type(e).__name__}
            if isinstance(e, SubmissionError):
                doc["violations"] = [v.to_dict() for v in e.violations]
            print_json(doc)
        print(f"dataperf: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("dataperf: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    finally:
        if args.challenge_dirs:
            if before is None:
                os.environ.pop("DATAPERF_CHALLENGES", None)
            else:
                os.environ["DATAPERF_CHALLENGES"] = before


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
