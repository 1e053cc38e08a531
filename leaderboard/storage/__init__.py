"""Storage: the tables, their Alembic migrations, engines and sessions, the blob store.

May import: the core library :mod:`dataperf` and third-party packages (SQLAlchemy, Alembic).
Nothing else of :mod:`leaderboard`.
"""
