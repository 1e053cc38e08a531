.PHONY: quickstart test test-fast

# Tests that need no external service and no real data (see tests/services.py for the markers).
FAST = not slow and not live and not docker and not postgres and not browser and not dask

# Set everything up, run every baseline of every challenge, fill the leaderboard, serve it.
quickstart:
	scripts/setup
	.venv/bin/dataperf quickstart --serve

# Lint, type-check and run the whole test suite (starts dockerd and PostgreSQL when root);
# prints the ten slowest tests. CI runs exactly this, with every service required.
test:
	scripts/test

# Every test but the slow, real-data ones and those that need Docker, PostgreSQL, a browser or
# a Dask cluster: under two minutes on two cores, for the edit-test loop.
test-fast:
	.venv/bin/python -m pytest -q -m "$(FAST)"
