"""The review web UI: server-rendered pages and a JSON API (FastAPI), started by `callqa serve`."""

from review.web.app import create_app

__all__ = ["create_app"]
