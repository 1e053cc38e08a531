"""The dataperf server side, in layers (each a subpackage; a layer imports only those before it):

1. :mod:`leaderboard.storage`: tables, migrations, the database and the blob store.
2. :mod:`leaderboard.arithmetic`: the ratchet's pure arithmetic (numpy and numba only).
3. :mod:`leaderboard.ratchet`: problems, the cells repository, ratchet steps, rescoring, the
   parallel fill.
4. :mod:`leaderboard.boards`: the read model every board, matrix and history is built from.
5. :mod:`leaderboard.jobs`: the submission lifecycle, queue, worker, quota, auth and admin.
6. :mod:`leaderboard.http`: the FastAPI app, JSON API, web pages and uploads.

``import-linter`` checks the order (``[tool.importlinter]`` in ``pyproject.toml``).
"""
