.PHONY: quickstart test

# Set everything up, run every baseline of every challenge, fill the leaderboard, serve it.
quickstart:
	scripts/setup
	.venv/bin/dataperf quickstart --serve

# Lint, type-check and run the whole test suite (starts dockerd and PostgreSQL when root).
test:
	scripts/test
