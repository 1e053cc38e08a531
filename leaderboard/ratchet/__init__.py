"""The data ratchet: problems, the cells repository, ratchet steps, rescoring, the parallel fill.

May import: :mod:`leaderboard.arithmetic`, :mod:`leaderboard.storage`, the core library
:mod:`dataperf`. Never the read model, jobs or http layers.
"""
