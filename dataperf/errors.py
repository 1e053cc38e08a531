"""The one error vocabulary of dataperf.

Every error a user can cause derives from :class:`DataPerfError`. Messages say what
was expected, what was got, and where (file, row, field).
"""

from __future__ import annotations

from dataclasses import dataclass


class DataPerfError(Exception):
    """Root of every error dataperf raises on purpose; the CLI turns it into exit code 2."""

    exit_code = 2


class SpecError(DataPerfError):
    """A challenge spec (YAML) is malformed, has unknown keys, or bad values."""


class RegistryError(DataPerfError, LookupError):
    """A name is not registered, or is registered twice."""


class DataError(DataPerfError):
    """Prepared data is missing, corrupt, or does not match its recorded sha256."""


class EvaluationError(DataPerfError):
    """An evaluation could not produce a score (the platform's fault, never the submitter's)."""


class RunnerError(DataPerfError):
    """A runner failed to run an evaluation; ``status`` names the kind of failure."""

    def __init__(self, message: str, status: str = "error", log: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.log = log


class MissingExtraError(DataPerfError):
    """A command or runner needs an optional part of dataperf (an extra) that is not installed."""

    exit_code = 1

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(f"{what} needs the {extra} extra: pip install 'dataperf[{extra}]'")
        self.extra = extra


@dataclass(frozen=True)
class Violation:
    """One broken invariant of a submission: where it is and what is wrong."""

    file: str
    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field is not None:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """Return the violation as a JSON-ready dict."""
        return {"file": self.file, "row": self.row, "field": self.field, "message": self.message}


class SubmissionError(DataPerfError):
    """A submission breaks one or more invariants; all violations are listed at once."""

    def __init__(self, violations: list[Violation], limit: int = 50) -> None:
        self.violations = list(violations)
        shown = "\n".join(f"  - {v}" for v in self.violations[:limit])
        more = len(self.violations) - limit
        if more > 0:
            shown += f"\n  ... and {more} more"
        n = len(self.violations)
        super().__init__(f"submission rejected: {n} violation{'s' if n != 1 else ''}\n{shown}")


def param_error(name: str, owner: str, expected: str, got: object) -> str:
    """Return the standard wording for a bad parameter value."""
    return f"The '{name}' parameter of {owner} must be {expected}. Got {got!r} instead."
