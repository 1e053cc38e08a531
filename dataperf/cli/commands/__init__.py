"""Commands of the ``dataperf`` CLI: one module per command, each exposing it as ``command``
(listed in :data:`dataperf.cli.COMMAND_MODULES`)."""
