"""The web pages: Jinja templates (autoescaped) and static assets served from this package."""
