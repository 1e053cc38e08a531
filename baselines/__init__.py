"""Participant-side baselines: algorithms that build submissions from a challenge's public data.

Each module in this package registers its baselines in :data:`BASELINES`; every list of
baselines (CLI choices, the quickstart, the conformance tests) comes from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from dataperf.contract import ChallengeSpec
from dataperf.data.prepared import PreparedData
from dataperf.registry import PluginRegistry

BaselineFn = Callable[[ChallengeSpec, PreparedData, int], pd.DataFrame]


@dataclass(frozen=True)
class Baseline:
    """A named algorithm that builds a submission for challenges of the given kinds."""

    name: str
    kinds: tuple[str, ...]
    build: BaselineFn
    """``build(spec, data, seed)`` returns the submission table in the kind's schema,
    using only what participants see (embeddings, public labels, published examples)."""
    doc: str


BASELINES: PluginRegistry[Baseline] = PluginRegistry("baseline", __name__, group="dataperf.baselines")


def register(name: str, kinds: tuple[str, ...], doc: str) -> Callable[[BaselineFn], BaselineFn]:
    """Return a decorator registering a baseline builder for ``kinds``.

    The registry key is ``<kind>/<name>``, so one name can serve several kinds.
    """

    def deco(fn: BaselineFn) -> BaselineFn:
        for kind in kinds:
            BASELINES.add(f"{kind}/{name}", Baseline(name, (kind,), fn, doc))
        return fn

    return deco


def for_kind(kind: str) -> list[Baseline]:
    """Return the baselines that build submissions for ``kind``, sorted by name."""
    return [BASELINES.get(k) for k in BASELINES.names() if k.startswith(f"{kind}/")]


def get_baseline(kind: str, name: str) -> Baseline:
    """Return baseline ``name`` for ``kind``; raise RegistryError with suggestions if unknown."""
    key = f"{kind}/{name}"
    if key not in BASELINES:
        from dataperf.errors import RegistryError
        from dataperf.registry import Registry

        names: Registry[Baseline] = Registry(f"baseline for kind '{kind}'")
        for b in for_kind(kind):
            names.add(b.name, b)
        raise RegistryError(names.miss_message(name))
    return BASELINES.get(key)
