"""How many threads BLAS uses for the ratchet's products (one by default: parallelism comes
from workers, and on small machines a threaded BLAS is many times slower on small products)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def controller() -> Any:
    """Return the process's thread-pool controller (built on first use, after the BLAS
    libraries the fixed models use are loaded)."""
    import scipy.optimize  # noqa: F401 - load every BLAS the fixed models use before the snapshot
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with one BLAS thread: the ratchet's products are small, and on small
    machines a threaded BLAS is many times slower on them (parallelism comes from workers)."""
    with controller().limit(limits=1, user_api="blas"):
        yield
