"""Runners: where an evaluation runs. Each module here registers one in :data:`RUNNERS`."""

from __future__ import annotations

from collections.abc import Callable

from dataperf.contract import Runner
from dataperf.registry import PluginRegistry

RUNNERS: PluginRegistry[Callable[..., Runner]] = PluginRegistry("runner", __name__)
