"""The server's refusals: every one is a JSON body ``{"error": message, "code": code, ...}``
with an HTTP status (and, where one applies, headers such as ``Retry-After``), so clients (and
``dataperf submit``) can show the reason as it is."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A refusal with its HTTP status, a stable machine code, a message for people and the
    headers the answer carries (``Retry-After`` on 429 and 503)."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        """HTTP headers the refusal carries (``Retry-After`` on 429 and 503)."""
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """Return the JSON body of the refusal."""
        return {"error": self.message, "code": self.code, **self.extra}


def not_found(what: str, hint: str = "") -> ApiError:
    """Return the 404 refusal for an unknown ``what``."""
    return ApiError(404, "not_found", f"{what} does not exist{(': ' + hint) if hint else ''}")
