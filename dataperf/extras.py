"""The optional parts of dataperf (extras) and the modules each one brings.

A participant's install (``pip install dataperf``) prepares data, builds baselines and scores
submissions; the server, the docker runner and the Dask runner come with extras. This table
names, for each extra of ``pyproject.toml``, the top-level modules it installs, so that a
missing module is answered with the extra to install (:func:`missing_extra`).
"""

from __future__ import annotations

from dataperf.errors import MissingExtraError

MODULES: dict[str, tuple[str, ...]] = {
    "server": (
        "fastapi",
        "starlette",
        "uvicorn",
        "multipart",
        "python_multipart",
        "sqlalchemy",
        "alembic",
        "psycopg",
        "jinja2",
        "plotly",
        "numba",
    ),
    "docker": ("docker",),
    "dask": ("dask", "distributed"),
}
"""Extra -> the top-level modules it installs (the fast ratchet's numba is the server's)."""


def extra_for(module: str | None) -> str | None:
    """Return the extra that installs ``module`` (a dotted name is read by its top level), or
    None when no extra does."""
    top = (module or "").split(".")[0]
    return next((extra for extra, names in MODULES.items() if top in names), None)


def missing_extra(what: str, error: ModuleNotFoundError) -> MissingExtraError | None:
    """Return the error saying that ``what`` needs the extra whose module ``error`` could not
    import, or None when that module belongs to no extra (a real bug, to be raised as is)."""
    extra = extra_for(error.name)
    return None if extra is None else MissingExtraError(what, extra)
