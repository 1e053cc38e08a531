"""``python -m dataperf``: the command line, as the ``dataperf`` script runs it."""

from dataperf.cli import run

if __name__ == "__main__":
    run()
