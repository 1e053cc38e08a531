"""Challenge kinds. Each module in this package registers one kind in :data:`KINDS`; a kind
in a package of its own registers through the ``dataperf.kinds`` entry point group. Adding a
kind is adding a module (or a package) and a YAML spec that uses it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataperf.contract import ChallengeKind
from dataperf.registry import PluginRegistry

if TYPE_CHECKING:
    from dataperf.contract import ChallengeSpec

KINDS: PluginRegistry[ChallengeKind] = PluginRegistry(
    "challenge kind", __name__, group="dataperf.kinds", instantiate=True
)


def kind_of(spec: ChallengeSpec) -> ChallengeKind:
    """Return the kind of ``spec``."""
    return KINDS.get(spec.kind)
