"""The project's one JSON API (django-ninja), with its OpenAPI schema at /api/openapi.json and docs at /api/docs.

The docs page (Swagger UI) is for staff only, and is served from django-ninja's bundled static files
(``ninja`` is in INSTALLED_APPS), so it loads nothing from a third-party host. The schema stays readable
by anyone, as before.

Each app contributes a Router from its own ``api.py``; this module only mounts them.
Authentication is the browser session (same rules as the pages); django_auth enforces CSRF on writes.
"""

from django.contrib.admin.views.decorators import staff_member_required
from ninja import NinjaAPI
from ninja.openapi.views import openapi_view
from ninja.security import django_auth

from grader.attempts.api import router as attempts_router
from grader.playground.api import router as playground_router
from grader.submissions.api import router as submissions_router



def _staff_docs(view):
    """django-ninja applies ``docs_decorator`` to the schema and the docs page alike; only the page is limited."""
    return staff_member_required(view) if getattr(view, "func", None) is openapi_view else view


api = NinjaAPI(title="mechgrade API", version="1", auth=django_auth, docs_decorator=_staff_docs)

api.add_router("/", submissions_router)
api.add_router("/attempts/", attempts_router)
api.add_router("/playground/", playground_router)
