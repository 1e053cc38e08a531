"""HTTP: the FastAPI app, the JSON API, the web pages and streamed uploads.

May import: every other layer of :mod:`leaderboard`, the core library :mod:`dataperf`.
"""
