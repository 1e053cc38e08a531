"""The read model: every leaderboard, matrix, suite and history shown, and the view cache.

May import: :mod:`leaderboard.ratchet`, :mod:`leaderboard.arithmetic`, :mod:`leaderboard.storage`
and the core library :mod:`dataperf`. Never the jobs or http layers.
"""
