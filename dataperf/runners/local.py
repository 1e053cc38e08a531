"""The local runner: reads, validates and evaluates in this process (the embedded default).

No sandbox: the submission file is opened by the calling process itself. Use it for a
participant's own files; a server that takes files from others runs the docker runner.
"""

from __future__ import annotations

from pathlib import Path

from dataperf.contract import CanonicalSubmission, Result, Runner
from dataperf.runners import RUNNERS


class LocalRunner(Runner):
    """Run the evaluator in the current process."""

    name = "local"

    def evaluate(self, challenge_id: str, submission: Path, *, sha256: str | None = None) -> Result:
        """Return the result of evaluating ``submission`` here."""
        from dataperf.challenges import get_challenge
        from dataperf.evaluator import evaluate  # imported on use: the docker runner's host side never needs it

        return evaluate(get_challenge(challenge_id), Path(submission), runner=self.name, sha256=sha256)

    def parse(self, challenge_id: str, submission: Path, *, sha256: str | None = None) -> CanonicalSubmission:
        """Return ``submission`` read and validated here, as its canonical table."""
        from dataperf.challenges import get_challenge
        from dataperf.evaluator import validate

        spec = get_challenge(challenge_id)
        sub = validate(spec, Path(submission), sha256=sha256)
        return CanonicalSubmission(spec.id, spec.version, spec.kind, sub.sha256, sub.table, self.name)


RUNNERS.add(LocalRunner.name, LocalRunner)
