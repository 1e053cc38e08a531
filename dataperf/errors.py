"""The one error vocabulary of dataperf.

Every error a user can cause derives from :class:`DataPerfError`. Messages say what
was expected, what was got, and where (file, row, field).
"""

from __future__ import annotations

from dataclasses import dataclass


class DataPerfError(Exception):
    """Root of every error dataperf raises on purpose.

    The command line's exit statuses: 0 ok, 2 the user's input was refused (:class:`InputError`
    and its kinds), 1 anything else: a fault of the platform, a resource limit, the network.
    """

    exit_code = 1


class InputError(DataPerfError):
    """The user's input was refused (a file, a spec, a name, an option); exit status 2."""

    exit_code = 2


class SpecError(InputError):
    """A challenge spec (YAML) is malformed, has unknown keys, or bad values."""


class RegistryError(InputError, LookupError):
    """A name is not registered, or is registered twice."""


class DataError(DataPerfError):
    """Prepared data is missing, corrupt, or does not match its recorded sha256."""


class EvaluationError(DataPerfError):
    """An evaluation could not produce a score (the platform's fault, never the submitter's)."""


UNAVAILABLE = "unavailable"
"""The :class:`RunnerError` status of a run the engine behind a runner could not start or
dropped (the docker daemon unreachable, stopped or restarted): nothing is known about the
submission, so the run is to be repeated once the engine answers."""


class RunnerError(DataPerfError):
    """A runner failed to run an evaluation; ``status`` names the kind of failure (``oom``,
    ``timeout``, ``crashed``, ``invalid``, ``error``, or :data:`UNAVAILABLE`)."""

    def __init__(self, message: str, status: str = "error", log: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.log = log


class ChangedFileError(DataPerfError):
    """A file no longer has the content its caller recorded (its sha256 differs): it changed
    after it was stored, which is the storage's fault, never the fault of whoever wrote it."""

    def __init__(self, path: str, expected: str, actual: str) -> None:
        super().__init__(f"{path} has sha256 {actual}, not the recorded {expected}")
        self.path, self.expected, self.actual = path, expected, actual


class MissingExtraError(DataPerfError):
    """A command or runner needs an optional part of dataperf (an extra) that is not installed."""

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


MAX_REPORTED = 1000
"""Most violations a refusal carries; the rest are counted (``left_out``), not listed."""


class SubmissionError(InputError):
    """A submission breaks one or more invariants; all violations are found at once, the first
    :data:`MAX_REPORTED` are kept (``violations``) and the rest counted (``left_out``)."""

    def __init__(self, violations: list[Violation], limit: int = 50) -> None:
        found = list(violations)
        self.violations = found[:MAX_REPORTED]
        self.left_out = len(found) - len(self.violations)
        shown = "\n".join(f"  - {v}" for v in self.violations[:limit])
        more = len(found) - min(limit, len(found))
        if more > 0:
            shown += f"\n  ... and {more} more"
        n = len(found)
        super().__init__(f"submission rejected: {n} violation{'s' if n != 1 else ''}\n{shown}")


def param_error(name: str, owner: str, expected: str, got: object) -> str:
    """Return the standard wording for a bad parameter value."""
    return f"The '{name}' parameter of {owner} must be {expected}. Got {got!r} instead."
