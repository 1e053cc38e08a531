"""Challenge kinds. Each module in this package registers one kind in :data:`KINDS`;
adding a kind is adding a module here and a YAML spec that uses it."""

from __future__ import annotations

from dataperf.contract import ChallengeKind
from dataperf.registry import PluginRegistry

KINDS: PluginRegistry[ChallengeKind] = PluginRegistry("challenge kind", __name__)
