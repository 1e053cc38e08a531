"""An organizer's challenges on a running server: add one from its YAML, retire one.

``add_challenge`` checks the spec and its data files (every problem at once), prepares its
private and public bundles in the server's data home, copies the spec and its tables under
:func:`dataperf.paths.hosted_dir` (one folder per challenge that trains or stands alone; a
dual goes beside its pair), and records the challenge's settings. The registry of challenges
notices the new spec file, so a running server lists it. Any failure leaves nothing: no spec
copied, no data prepared, no row written.

``retire`` hides a challenge from the lists (index page, API) and keeps every submission.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dataperf.errors import InputError, SpecError
from leaderboard.storage.server_tables import ChallengeSetting
from leaderboard.storage.tables import utcnow


def _inputs(path: Path, files: dict[str, str]) -> list[str]:
    """Return the files (relative to the spec's folder) a ``source: files`` spec reads."""
    out = []
    for key, rel in files.items():
        target = (path.parent / rel).resolve()
        if not target.is_relative_to(path.parent.resolve()):
            raise SpecError(f"{path}: data.files.{key}: {rel!r} lies outside the spec's folder")
        out.append(rel)
        if rel.lower().endswith((".json", ".jsonld")):
            doc = json.loads(target.read_text())
            for entry in doc.get("distribution", []):
                url = entry.get("contentUrl")
                inner = (target.parent / str(url)).resolve()
                if not inner.is_relative_to(path.parent.resolve()):
                    raise SpecError(f"{target}: file object {url!r} lies outside the spec's folder")
                out.append(str(inner.relative_to(path.parent.resolve())))
    return out


def add_challenge(sessions: sessionmaker[Session], path: Path) -> dict[str, Any]:
    """Register the challenge in ``path`` on this server (see the module); return a summary."""
    from dataperf.challenges import challenges, load_spec
    from dataperf.data.prepare import prepare
    from dataperf.paths import data_dir, hosted_dir
    from dataperf.spec_check import check_challenge_file

    report = check_challenge_file(path)
    spec = load_spec(path)
    if spec.id in challenges():
        raise InputError(f"{path}: challenge '{spec.id}' is already registered on this server")
    group = hosted_dir() / (spec.pair or spec.id)
    if spec.pair is not None and not (group / f"{spec.pair}.yaml").is_file():
        raise InputError(f"{path}: its pair '{spec.pair}' must be added to this server first")
    if spec.pair is None and group.exists():
        raise InputError(f"{path}: {group} exists already")
    rels = [path.name, *(_inputs(path, spec.data.files) if spec.data.files else [])]
    stage = hosted_dir() / f".{spec.id}.tmp{os.getpid()}"
    folder = data_dir(spec.id, spec.version)
    prepared_here = not folder.exists()
    shutil.rmtree(stage, ignore_errors=True)
    try:
        for rel in rels:
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path.parent / rel, stage / rel)
        prepare(spec, base=stage, force=True)
        with sessions.begin() as s:
            if s.get(ChallengeSetting, spec.id) is None:
                s.add(ChallengeSetting(challenge=spec.id, published=False))
            if spec.pair is None:  # a dual waits for its first submission (its ratchet key needs the pair)
                from leaderboard.jobs.service import ensure_challenge

                ensure_challenge(s, spec)  # its spec document is kept from the start, for after a bump
        if spec.pair is None:
            os.replace(stage, group)
        else:
            for rel in rels:
                (group / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(stage / rel, group / rel)
    except BaseException:
        if prepared_here:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {
        "challenge": spec.id,
        "version": spec.version,
        "kind": spec.kind,
        "folder": str(group),
        "splits": [s.name for s in report.splits],
        "message": f"{spec.id} v{spec.version} ({spec.kind}) added: listed, its private bundle kept in {folder}",
    }


def retire(sessions: sessionmaker[Session], challenge: str, retired: bool = True) -> dict[str, Any]:
    """Hide ``challenge`` from the lists (or show it again); its submissions are kept."""
    from dataperf.challenges import get_challenge

    get_challenge(challenge)
    with sessions.begin() as s:
        row = s.get(ChallengeSetting, challenge)
        if row is None:
            row = ChallengeSetting(challenge=challenge, published=False)
            s.add(row)
        row.retired_at = utcnow() if retired else None
    state = "retired: hidden from the lists, its submissions kept" if retired else "listed again"
    return {"challenge": challenge, "retired": retired, "message": f"{challenge}: {state}"}


def retired_ids(s: Session) -> set[str]:
    """Return the ids of the retired challenges."""
    rows = s.execute(select(ChallengeSetting.challenge).where(ChallengeSetting.retired_at.is_not(None)))
    return set(rows.scalars())
