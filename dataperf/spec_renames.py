"""Spec keys that were renamed because their names misled: a spec file written with an old
name still loads, with a :class:`DeprecatedKeyWarning` naming the file, the old key and the
new one. A rename never changes a score or a prepared file (the value moves as it is)."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dataperf.errors import SpecError


class DeprecatedKeyWarning(FutureWarning):
    """A spec file uses a key under its old name (shown to users: a FutureWarning)."""


@dataclass(frozen=True)
class Rename:
    """One renamed key: ``old`` inside the mapping at ``path`` becomes ``new(mapping)``."""

    path: tuple[str, ...]
    old: str
    new: Callable[[dict[str, Any]], str]
    why: str


def _noise_share(noise: dict[str, Any]) -> str:
    return "fit_share" if noise.get("method") == "machine" else "flip_share"


RENAMES = (
    Rename(
        ("data", "noise"),
        "rate",
        _noise_share,
        "it is not a noise rate: for method machine it is the share the weak labeller is fitted on",
    ),
)
"""Every renamed spec key."""


def upgrade(doc: dict[str, Any], source: str) -> dict[str, Any]:
    """Return ``doc`` (a parsed spec file) with every old key under its new name (a copy when
    anything moved), warning once per key; a file that gives both names is a SpecError."""
    out = doc
    for rename in RENAMES:
        holder: Any = out
        for part in rename.path:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if not isinstance(holder, dict) or rename.old not in holder:
            continue
        new = rename.new(holder)
        dotted = ".".join(rename.path)
        if new in holder:
            raise SpecError(f"{source}: {dotted}.{rename.old} and {dotted}.{new} are the same key: give only {new}")
        if out is doc:
            out = copy.deepcopy(doc)
        target = out
        for part in rename.path:
            target = target[part]
        target[new] = target.pop(rename.old)
        warnings.warn(
            f"{source}: {dotted}.{rename.old} is deprecated, write {dotted}.{new} ({rename.why})",
            DeprecatedKeyWarning,
            stacklevel=3,
        )
    return out
