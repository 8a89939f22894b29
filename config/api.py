"""The project's one JSON API (django-ninja), with its OpenAPI schema at /api/openapi.json and docs at /api/docs.

Each app contributes a Router from its own ``api.py``; this module only mounts them.
Authentication is the browser session (same rules as the pages); django_auth enforces CSRF on writes.
"""

from ninja import NinjaAPI
from ninja.security import django_auth

from grader.attempts.api import router as attempts_router
from grader.playground.api import router as playground_router
from grader.submissions.api import router as submissions_router

api = NinjaAPI(title="mechgrade API", version="1", auth=django_auth)

api.add_router("/", submissions_router)
api.add_router("/attempts/", attempts_router)
api.add_router("/playground/", playground_router)
