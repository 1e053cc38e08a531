"""Taking in one upload, the same way for the API and the web form: rate limits, the daily cap
of refused uploads, the file name, the quota, the streamed body under its size limit, then
validation, storage, queueing and the charge (:func:`leaderboard.http.uploads.accept`).

Nothing is stored and nothing is charged for a refused upload; a refusal caused by the file
itself counts toward the team's daily cap of refused uploads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from leaderboard.http import multipart, uploads
from leaderboard.http.api.deps import challenge, client_address, state
from leaderboard.http.errors import ApiError
from leaderboard.http.limits import too_many
from leaderboard.jobs import quota
from leaderboard.jobs.auth import Caller
from leaderboard.storage.tables import utcnow

REFUSED_FOR_CONTENT = ("invalid_submission", "bad_filename", "empty_upload", "too_large")
"""Refusal codes that count toward a team's daily cap of refused uploads."""

FormCheck = Callable[[dict[str, str]], None]
"""Checks the text fields a form sent before its file (raises ApiError to refuse)."""


async def take(
    request: Request,
    who: Caller,
    challenge_id: str,
    filename: str | None,
    check_form: FormCheck | None = None,
) -> dict[str, Any]:
    """Receive the request's body as a submission of ``who`` to ``challenge_id`` and return the answer
    (:class:`leaderboard.http.uploads.Accepted` as a dict, with challenge, team and page url).

    ``filename`` is the name given beside the body (the API's ``?filename=``); None takes it
    from the form's file part (a browser's form). ``check_form`` sees the form's fields before
    any byte of the file is read. Raises ApiError for every refusal (see the API's submit).
    """
    st = state(request)
    st.limits.uploads_per_address.check(client_address(request), "uploads from this address")
    st.limits.uploads_per_team.check(str(who.team_id), "uploads for this team")
    spec = challenge(challenge_id)
    with st.sessions() as s:
        q = quota.state(s, who.team_id)
        refused = quota.refusals_today(s, who.team_id)
    if refused >= st.settings.max_refused_per_day:
        wait = (q.reset_at - utcnow()).total_seconds()
        raise too_many(
            "refused uploads today",
            f"{st.settings.max_refused_per_day} a UTC day per team",
            wait,
            code="too_many_refused",
        )
    try:
        # a bad name is the request's fault: 422 before any quota answer
        name = uploads.safe_filename(filename) if filename is not None else None
    except ApiError as e:
        _refused(request, who, e.code)
        raise
    if q.remaining <= 0:
        raise uploads.over_quota(q)
    limit = st.settings.max_upload_bytes
    slot = st.limits.start_upload(who.team_id)
    try:
        raw = request.headers.get("content-length")
        declared = int(raw) if raw and raw.isdigit() else None
        content_type = request.headers.get("content-type")
        if multipart.is_multipart(content_type):
            if declared is not None and declared > limit + multipart.SLACK:
                raise uploads.too_large(declared, limit)
            named: dict[str, str] = {}

            def on_file(part_name: str | None, fields: dict[str, str]) -> None:
                if check_form is not None:
                    check_form(fields)
                if name is None:
                    named["name"] = uploads.safe_filename(part_name)

            chunks = await _started(multipart.file_chunks(content_type, request.stream(), limit, on_file))
            name = name or named["name"]
            declared = None
        elif name is None:
            raise multipart.bad_form("is not a form")
        else:
            chunks = request.stream()
        path = await uploads.receive(chunks, declared, limit, name)
        accepted = await run_in_threadpool(uploads.accept, st.sessions, spec, who, path, st.settings.max_attempts, name)
    except ApiError as e:
        if e.code in REFUSED_FOR_CONTENT:
            _refused(request, who, e.code)
        raise
    finally:
        st.limits.end_upload(who.team_id, slot)
    return accepted.to_dict() | {"challenge": spec.id, "team": who.team, "url": f"/submissions/{accepted.submission}"}


def _refused(request: Request, who: Caller, code: str) -> None:
    with state(request).sessions.begin() as s:
        quota.record_refusal(s, who.team_id, code)


async def _started(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Read ``chunks`` up to its first chunk (so a form's file part has been reached and named)
    and return an iterator over all of it."""
    it = chunks.__aiter__()
    try:
        first = await it.__anext__()
    except StopAsyncIteration:
        first = b""

    async def rest() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in it:
            yield chunk

    return rest()
