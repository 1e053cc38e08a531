"""Load challenge specs from YAML (safe loading only) into the registry of challenges."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from dataperf.contract import ChallengeSpec
from dataperf.errors import SpecError
from dataperf.kinds import KINDS
from dataperf.paths import challenges_dir
from dataperf.registry import Registry


def _where(loc: tuple[object, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_spec(doc: object, source: str) -> ChallengeSpec:
    """Return the spec in ``doc`` (parsed YAML); raise SpecError naming ``source`` and every bad key."""
    if not isinstance(doc, dict):
        raise SpecError(f"{source}: a challenge spec must be a mapping, got {type(doc).__name__}")
    try:
        spec = ChallengeSpec.model_validate(doc)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            if err["type"] == "missing":
                what = "required key is missing"
            got = "" if err["type"] in ("missing", "extra_forbidden") else f" (got {err.get('input')!r})"
            lines.append(f"  - {_where(err['loc'])}: {what}{got}")
        raise SpecError(f"{source}: invalid challenge spec\n" + "\n".join(lines)) from None
    if spec.kind not in KINDS:
        raise SpecError(f"{source}: {KINDS.miss_message(spec.kind)}")
    problems = KINDS.get(spec.kind).check_spec(spec)
    if problems:
        raise SpecError(f"{source}: invalid challenge spec\n" + "\n".join(f"  - {p}" for p in problems))
    return spec


def load_spec(path: Path) -> ChallengeSpec:
    """Return the spec in the YAML file ``path``; raise SpecError if it is malformed."""
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as e:
        raise SpecError(f"{path}: cannot read ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise SpecError(f"{path}: not valid YAML ({e})") from None
    spec = parse_spec(doc, str(path))
    if path.stem != spec.id:
        raise SpecError(f"{path}: the file name must be the challenge id '{spec.id}.yaml'")
    return spec


def spec_sha256(spec: ChallengeSpec) -> str:
    """Return a hash of everything in ``spec`` (any change that could change a score changes it)."""
    return hashlib.sha256(json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


@lru_cache(maxsize=8)
def _load_all(folder: Path) -> Registry[ChallengeSpec]:
    reg: Registry[ChallengeSpec] = Registry("challenge")
    if not folder.is_dir():
        raise SpecError(f"challenge folder {folder} does not exist")
    for path in sorted(folder.glob("*.yaml")):
        reg.add(path.stem, load_spec(path))
    return reg


def challenges(folder: Path | None = None) -> Registry[ChallengeSpec]:
    """Return the registry of every challenge spec in ``folder`` (default: the shipped one)."""
    return _load_all((folder or challenges_dir()).resolve())


def get_challenge(name: str) -> ChallengeSpec:
    """Return the challenge spec ``name``; raise RegistryError with suggestions if unknown."""
    return challenges().get(name)
