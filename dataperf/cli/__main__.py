"""``python -m dataperf.cli``: the same as the ``dataperf`` command."""

from dataperf.cli import run

run()
