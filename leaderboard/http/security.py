"""Security headers on every response, and the same-origin check of state-changing forms.

Every answer (pages, API, static files, errors) carries a Content-Security-Policy that lets a
page load scripts, styles, images and connections from this site only and never be framed,
``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and a Referrer-Policy that
never sends a path to another site.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` to every HTTP response (unless already set)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.raw = [(k.encode(), v.encode()) for k, v in HEADERS.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [(k, v) for k, v in self.raw if k not in have]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_security_headers(app: FastAPI) -> None:
    """Wrap ``app`` so every response carries the security headers."""
    app.add_middleware(SecurityHeaders)  # type: ignore[arg-type]


def own_origin(request: Request, https: bool) -> str:
    """Return this site's origin as the browser sees it (scheme, host and port)."""
    host = request.headers.get("host") or request.url.netloc
    return f"{'https' if https else request.url.scheme}://{host}".lower()


def same_origin(request: Request, https: bool) -> bool:
    """Return True when a form post provably comes from this site's own page: its ``Origin``
    (else its ``Referer``) is this site's origin, and the browser does not call it cross-site.
    A post that names no origin at all is refused."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        referer = request.headers.get("referer", "")
        if not referer:
            return False
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    want = own_origin(request, https)
    got = origin.strip().lower()
    return got == want or (not https and got == want.replace("http://", "https://", 1))
