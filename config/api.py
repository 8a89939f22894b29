"""The project's one JSON API (django-ninja), with its OpenAPI schema at /api/openapi.json and docs at /api/docs.

The docs page (Swagger UI) is for staff only, and is served from django-ninja's bundled static files
(``ninja`` is in INSTALLED_APPS), so it loads nothing from a third-party host. The schema stays readable
by anyone, as before.

Every JSON body passes one text boundary first (``grader.text_input``): a string or key that is not valid
Unicode (a lone surrogate, which JSON can carry) is refused with 422 before any endpoint sees it.

Each app contributes a Router from its own ``api.py``; this module only mounts them.
Authentication is the browser session (same rules as the pages); django_auth enforces CSRF on writes.
"""

from django.contrib.admin.views.decorators import staff_member_required
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.parser import Parser
from ninja.openapi.views import openapi_view
from ninja.security import django_auth

from grader.attempts.api import router as attempts_router
from grader.playground.api import router as playground_router
from grader.submissions.api import router as submissions_router
from grader.text_input import TextRefused, check_text


class TextParser(Parser):
    """JSON bodies whose every string and key is valid Unicode; otherwise 422 naming where."""

    def parse_body(self, request):
        data = super().parse_body(request)
        _check_strings(data, "body")
        return data


class _TextRefusedAt(TextRefused):
    """``field``: the key of the innermost object holding the text (``body`` at the top)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _check_strings(value: object, where: str, field: str = "body") -> None:
    try:
        if isinstance(value, str):
            check_text(value, what=f"The text at {where}")
        elif isinstance(value, dict):
            for key in value:
                check_text(key, what=f"A key in {where}")
    except TextRefused as refused:
        raise _TextRefusedAt(str(refused), field) from None
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, f"{where}[{index}]", field)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(item, f"{where}.{key[:40]}", key)


def _staff_docs(view):
    """django-ninja applies ``docs_decorator`` to the schema and the docs page alike; only the page is limited."""
    return staff_member_required(view) if getattr(view, "func", None) is openapi_view else view


api = NinjaAPI(title="mechgrade API", version="1", auth=django_auth, docs_decorator=_staff_docs,
               parser=TextParser())

api.add_router("/", submissions_router)
api.add_router("/attempts/", attempts_router)
api.add_router("/playground/", playground_router)


@api.exception_handler(HttpError)
def _http_error(request, error: HttpError):
    """As django-ninja's own, except that text refused while parsing the body is a 422 with the reason
    (django-ninja turns any parser exception into 400 "Cannot parse request body")."""
    refused = error.__cause__
    if isinstance(refused, _TextRefusedAt):
        return api.create_response(request, {
            "detail": "Some text is not valid Unicode; nothing was recorded.", "errors": {refused.field: str(refused)},
        }, status=422)
    return api.create_response(request, {"detail": str(error)}, status=error.status_code)
