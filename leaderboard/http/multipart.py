"""Reading the file part of a ``multipart/form-data`` upload (browsers, ``curl -F``) as a
stream: the part named ``file`` is handed on chunk by chunk, never held whole in memory. Of the
rest of the form only the small text fields sent before the file are kept (for a caller that
asks for them: a web form's CSRF token), each at most :data:`MAX_FIELD` bytes.

The whole body may exceed the file's size limit only by :data:`SLACK` bytes (boundaries, part
headers, small extra fields); a part's headers are capped at :data:`MAX_HEADERS` bytes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from leaderboard.http.errors import ApiError
from leaderboard.http.uploads import too_large

FIELD = "file"
"""The name of the form part holding the submission file."""
SLACK = 64 * 1024
"""Bytes a form may carry beyond its file (boundaries, headers, other fields)."""
MAX_HEADERS = 16 * 1024
"""Bytes of headers a part may have."""
MAX_FIELD = 4096
MAX_FIELDS = 16
"""Text fields before the file that are kept (later ones are dropped)."""
"""Bytes of a text field before the file that are kept (the rest is dropped)."""


def is_multipart(content_type: str | None) -> bool:
    """Return whether a request's ``Content-Type`` is ``multipart/form-data``."""
    return (content_type or "").split(";", 1)[0].strip().lower() == "multipart/form-data"


def bad_form(reason: str) -> ApiError:
    """Return the 422 refusal of a malformed form."""
    message = f"the multipart/form-data upload {reason}; send the file in a part named '{FIELD}'"
    return ApiError(422, "bad_form", message)


class _Events:
    """Collects what the parser saw in the last fed chunk: part headers, data and ends."""

    def __init__(self) -> None:
        self.queue: deque[tuple[str, bytes]] = deque()
        self.field = b""
        self.value = b""
        self.headers: dict[bytes, bytes] = {}
        self.header_bytes = 0
        self.filename: str | None = None
        """The ``filename`` of the last part whose headers were read (None if it named none)."""

    def callbacks(self) -> dict[str, object]:
        def on_part_begin() -> None:
            self.headers, self.header_bytes = {}, 0

        def on_header_field(data: bytes, start: int, end: int) -> None:
            self._count(end - start)
            self.field += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            self._count(end - start)
            self.value += data[start:end]

        def on_header_end() -> None:
            self.headers[self.field.strip().lower()] = self.value.strip()
            self.field, self.value = b"", b""

        def on_headers_finished() -> None:
            disposition = self.headers.get(b"content-disposition", b"")
            _, options = parse_options_header(disposition)
            raw = options.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw is not None else None
            self.queue.append(("part", options.get(b"name", b"")))

        def on_part_data(data: bytes, start: int, end: int) -> None:
            self.queue.append(("data", bytes(data[start:end])))

        def on_part_end() -> None:
            self.queue.append(("end", b""))

        return {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        }

    def _count(self, n: int) -> None:
        self.header_bytes += n
        if self.header_bytes > MAX_HEADERS:
            raise bad_form(f"has a part with more than {MAX_HEADERS} bytes of headers")


def boundary_of(content_type: str | None) -> bytes:
    """Return the boundary of a ``multipart/form-data`` content type (422 without one)."""
    _, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary", b"")
    if not boundary or len(boundary) > 200:
        raise bad_form("has no valid boundary in its Content-Type")
    return boundary


async def file_chunks(
    content_type: str | None,
    body: AsyncIterator[bytes],
    limit: int,
    on_file: Callable[[str | None, dict[str, str]], None] | None = None,
) -> AsyncIterator[bytes]:
    """Yield the bytes of the form's ``file`` part as they arrive from ``body``.

    ``on_file`` (if given) is called once the file part's headers are read, before any of its
    bytes, with the part's ``filename`` and the text fields sent before it; an ApiError it
    raises refuses the upload there. Raises ApiError 422 for a malformed form or one without a
    ``file`` part, and 413 when the body passes ``limit`` + :data:`SLACK` bytes (the file's own
    limit is the caller's check).
    """
    events = _Events()
    parser = MultipartParser(boundary_of(content_type), events.callbacks())  # type: ignore[arg-type]
    state = "before"  # before the file part, inside it, after it
    fields: dict[str, bytes] = {}
    field: str | None = None
    total = 0
    async for chunk in body:
        total += len(chunk)
        if total > limit + SLACK:
            raise too_large(total, limit + SLACK, partial=True)
        try:
            parser.write(chunk)
        except MultipartParseError as e:
            raise bad_form(f"is malformed ({e})") from None
        while events.queue:
            what, data = events.queue.popleft()
            if what == "part" and state == "before" and data == FIELD.encode():
                state = "inside"
                if on_file is not None:
                    on_file(events.filename, {k: v.decode("utf-8", "replace") for k, v in fields.items()})
            elif what == "part" and state == "before" and len(fields) < MAX_FIELDS:
                field = data.decode("utf-8", "replace")
                fields.setdefault(field, b"")
            elif what == "data" and state == "before" and field is not None:
                fields[field] = (fields[field] + data)[:MAX_FIELD]
            elif what == "data" and state == "inside":
                yield data
            elif what == "end" and state == "inside":
                state = "after"
        if state == "after":
            return
    raise bad_form("has no complete part named 'file'" if state != "inside" else "ends inside the file part")
