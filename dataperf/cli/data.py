"""Prepared data for the commands that need it: prepared on first use, with progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from dataperf.contract import ChallengeSpec
    from dataperf.data.prepared import PreparedData


def ensure_prepared(spec: ChallengeSpec, say: Callable[[str], None]) -> None:
    """Prepare ``spec``'s data in the data home unless a bundle of it (private or public) is
    already there; ``say`` hears the progress."""
    if is_prepared(spec):
        return
    from dataperf.data.prepare import prepare

    say(f"{spec.id}: no prepared data in the data home yet: preparing it")
    prepare(spec, progress=say)


def has_private_bundle(spec: ChallengeSpec) -> bool:
    """Return True when the data home holds ``spec``'s private bundle (hidden labels included)."""
    from dataperf.paths import data_dir

    return (data_dir(spec.id, spec.version) / "croissant.json").exists()


def prepared(spec: ChallengeSpec, say: Callable[[str], None], *, public: bool = False) -> PreparedData:
    """Return ``spec``'s verified prepared data, preparing it first where there is none
    (``public``: the public bundle even where the private one is present)."""
    from dataperf.evaluator import load_data

    ensure_prepared(spec, say)
    return load_data(spec, public=public)


T = TypeVar("T")


def needing_data(spec: ChallengeSpec, say: Callable[[str], None], call: Callable[[], T]) -> T:
    """Return ``call()``; when it fails for want of prepared data and the data home holds none of
    ``spec``'s, prepare it (``say`` hears the progress) and call again. A file refused for its own
    problems is refused before any data is prepared."""
    from dataperf.errors import DataError

    try:
        return call()
    except DataError:
        if is_prepared(spec):
            raise
    ensure_prepared(spec, say)
    return call()


def is_prepared(spec: ChallengeSpec) -> bool:
    """Return True when the data home holds a bundle (private or public) of ``spec``."""
    from dataperf.data.bundles import PUBLIC_DIR
    from dataperf.paths import data_dir

    folder = data_dir(spec.id, spec.version)
    return (folder / "croissant.json").exists() or (folder / PUBLIC_DIR / "croissant.json").exists()


def public_or_hint(spec: ChallengeSpec, call: Callable[[], T]) -> T:
    """Return ``call()``, a scoring with the public bundle; when the public bundle cannot score
    ``spec`` (its score needs labels only the server holds) and the private bundle is here, refuse
    with the way out: ``--hidden``."""
    from dataperf.errors import DataError, InputError

    try:
        return call()
    except DataError as e:
        if not has_private_bundle(spec):
            raise
        raise InputError(
            f"{e}\n{spec.id} cannot be scored with the public bundle alone; add --hidden to score with "
            "the private bundle this data home holds (the server's exact score)"
        ) from None
