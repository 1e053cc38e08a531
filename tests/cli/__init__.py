"""The click command line, driven in process with click's CliRunner."""
