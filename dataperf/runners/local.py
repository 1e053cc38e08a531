"""The local runner: evaluates in this process (the embedded default)."""

from __future__ import annotations

from pathlib import Path

from dataperf.contract import Result, Runner
from dataperf.runners import RUNNERS


class LocalRunner(Runner):
    """Run the evaluator in the current process."""

    name = "local"

    def evaluate(self, challenge_id: str, submission: Path) -> Result:
        """Return the result of evaluating ``submission`` here."""
        from dataperf.challenges import get_challenge
        from dataperf.evaluator import evaluate  # imported on use: the docker runner's host side never needs it

        return evaluate(get_challenge(challenge_id), submission, runner=self.name)


RUNNERS.add(LocalRunner.name, LocalRunner)
