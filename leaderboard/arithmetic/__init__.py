"""The ratchet's pure arithmetic: standings, the bank of fitted models, batched scoring kernels.

Numbers in, numbers out: no SQL, no spec loading. May import: the core library :mod:`dataperf`
(models, metrics), numpy, numba, threadpoolctl. Never :mod:`leaderboard.storage` nor SQLAlchemy.
"""
