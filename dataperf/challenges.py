"""Load challenge specs from YAML (safe loading only) into the registry of challenges.

A spec loads into its kind's spec model (a union of every registered kind's model,
discriminated on ``kind``), so a wrong option or key is a load error naming it. A spec with
``pair`` takes the shared parts (:data:`PAIRED_KEYS`) from the challenge it names, which must
be in the same folder: they are written once, and a mismatch between the two is impossible.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Union

import yaml
from pydantic import Field, TypeAdapter, ValidationError

from dataperf.contract import ChallengeSpec, Role
from dataperf.errors import SpecError
from dataperf.kinds import KINDS
from dataperf.paths import challenge_dirs
from dataperf.registry import Registry
from dataperf.spec_renames import upgrade

PAIRED_KEYS = ("data", "classes", "tasks", "model", "seeds")
"""What a dual (a spec with ``pair``) takes from its pair instead of stating it."""


@lru_cache(maxsize=4)
def _adapter(kinds: tuple[str, ...]) -> TypeAdapter[Any]:
    models = tuple(KINDS.get(k).spec_model for k in kinds)
    if len(models) == 1:
        return TypeAdapter(models[0])
    return TypeAdapter(Annotated[Union[models], Field(discriminator="kind")])  # type: ignore[arg-type]  # noqa: UP007


def _where(loc: tuple[object, ...]) -> str:
    out = ""
    if loc and isinstance(loc[0], str) and loc[0] in KINDS:
        loc = loc[1:]  # the union's tag, not a key of the file
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_spec(doc: object, source: str) -> ChallengeSpec:
    """Return the spec in ``doc`` (parsed YAML); raise SpecError naming ``source`` and every bad key."""
    if not isinstance(doc, dict):
        raise SpecError(f"{source}: a challenge spec must be a mapping, got {type(doc).__name__}")
    doc = upgrade(doc, source)
    kind = doc.get("kind")
    if not isinstance(kind, str):
        raise SpecError(f"{source}: invalid challenge spec\n  - kind: required key is missing (got {kind!r})")
    if kind not in KINDS:
        raise SpecError(f"{source}: {KINDS.miss_message(kind)}")
    try:
        spec: ChallengeSpec = _adapter(tuple(KINDS.names())).validate_python(doc)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            if err["type"] == "missing":
                what = "required key is missing"
            got = "" if err["type"] in ("missing", "extra_forbidden") else f" (got {err.get('input')!r})"
            lines.append(f"  - {_where(err['loc'])}: {what}{got}")
        raise SpecError(f"{source}: invalid challenge spec\n" + "\n".join(lines)) from None
    problems = KINDS.get(spec.kind).check_spec(spec)
    if spec.pair is not None and KINDS.get(spec.kind).role is not Role.TESTS:
        problems.append(f"pair: only a kind that tests in a ratchet takes a pair ('{spec.kind}' does not)")
    if problems:
        raise SpecError(f"{source}: invalid challenge spec\n" + "\n".join(f"  - {p}" for p in problems))
    return spec


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except OSError as e:
        raise SpecError(f"{path}: cannot read ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise SpecError(f"{path}: not valid YAML ({e})") from None


def with_pair(doc: Any, path: Path) -> Any:
    """Return ``doc`` (a spec file's YAML) with :data:`PAIRED_KEYS` taken from the spec its
    ``pair`` names (``<pair>.yaml`` beside ``path``); ``doc`` as it is without a pair."""
    if not isinstance(doc, dict) or doc.get("pair") is None:
        return doc
    pair = doc["pair"]
    stated = [k for k in PAIRED_KEYS if k in doc]
    if stated:
        raise SpecError(
            f"{path}: {', '.join(stated)} must not be set: a spec with a pair takes "
            f"{', '.join(PAIRED_KEYS)} from its pair '{pair}'"
        )
    if not isinstance(pair, str) or not (path.parent / f"{pair}.yaml").is_file():
        raise SpecError(f"{path}: pair: no challenge '{pair}' in {path.parent} (got {pair!r})")
    other_path = path.parent / f"{pair}.yaml"
    other_doc = _read(other_path)
    if isinstance(other_doc, dict) and other_doc.get("pair") is not None:
        raise SpecError(f"{path}: pair: '{pair}' is a dual itself (it has a pair): name the challenge that trains")
    other = parse_spec(other_doc, str(other_path))
    if KINDS.get(other.kind).role is not Role.TRAINS:
        raise SpecError(f"{path}: pair: '{pair}' is a '{other.kind}' challenge, which trains no models")
    kind = doc.get("kind")
    problems = KINDS.get(kind).check_pair(other) if isinstance(kind, str) and kind in KINDS else []
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise SpecError(f"{path}: pair: '{pair}' cannot be tested by this challenge\n{lines}")
    shared = other.model_dump(mode="json", include=set(PAIRED_KEYS))
    shared["tasks"] = [{"name": t["name"], "positive": t["positive"]} for t in shared["tasks"]]
    return doc | shared


def load_spec(path: Path) -> ChallengeSpec:
    """Return the spec in the YAML file ``path`` (its pair's shared parts filled in); raise
    SpecError if it is malformed."""
    spec = parse_spec(with_pair(_read(path), path), str(path))
    if path.stem != spec.id:
        raise SpecError(f"{path}: the file name must be the challenge id '{spec.id}.yaml'")
    return spec


def spec_sha256(spec: ChallengeSpec) -> str:
    """Return a hash of everything in ``spec`` (any change that could change a score changes it)."""
    return hashlib.sha256(json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


@lru_cache(maxsize=8)
def _load_all(
    folders: tuple[Path, ...], stamp: tuple[tuple[str, int], ...] = ()
) -> tuple[Registry[ChallengeSpec], dict[str, Path]]:
    """Return the registry of ``folders`` and where each spec came from (cached by ``stamp``:
    the spec files' names and modification times, so a running server sees an added spec)."""
    reg: Registry[ChallengeSpec] = Registry("challenge")
    where: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            raise SpecError(f"challenge folder {folder} does not exist")
        for path in sorted(folder.glob("*.yaml")):
            if path.stem in where:
                raise SpecError(f"challenge '{path.stem}' is defined twice: {where[path.stem]} and {path}")
            reg.add(path.stem, load_spec(path))
            where[path.stem] = path
    return reg, where


def _registry(folder: Path | None) -> tuple[Registry[ChallengeSpec], dict[str, Path]]:
    folders = (folder.resolve(),) if folder is not None else tuple(challenge_dirs())
    stamp = []
    for f in folders:
        if f.is_dir():
            stamp += [(str(p), p.stat().st_mtime_ns) for p in sorted(f.glob("*.yaml"))]
    return _load_all(folders, tuple(stamp))


def challenges(folder: Path | None = None) -> Registry[ChallengeSpec]:
    """Return the registry of every challenge spec in ``folder`` (default: every folder of
    :func:`dataperf.paths.challenge_dirs`); an id defined in two folders is a SpecError naming
    both files."""
    return _registry(folder)[0]


def spec_path(name: str, folder: Path | None = None) -> Path:
    """Return the YAML file challenge ``name`` was loaded from; raise RegistryError if unknown."""
    reg, where = _registry(folder)
    reg.get(name)
    return where[name]


def spec_folder(name: str) -> Path:
    """Return the folder of challenge ``name``'s spec file (``data.files`` paths are relative to it)."""
    return spec_path(name).parent


def get_challenge(name: str) -> ChallengeSpec:
    """Return the challenge spec ``name``; raise RegistryError with suggestions if unknown."""
    return challenges().get(name)
