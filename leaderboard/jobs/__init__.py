"""Jobs: a submission's lifecycle (ingest, evaluation), the durable queue, the worker, quotas,
API tokens and the organizer's admin actions.

May import: :mod:`leaderboard.boards` and every layer below it, the core library :mod:`dataperf`
and :mod:`baselines`. Never :mod:`leaderboard.http`.
"""
