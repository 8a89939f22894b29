"""The API's docs page: staff only, and Swagger UI from the project's own static files (no third-party
host at run time); no page template loads a script or style sheet from another host."""

import re
from pathlib import Path

from django.conf import settings
from django.template import engines


def test_anonymous_visitors_get_no_docs_page(client):
    response = client.get("/api/docs")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_learners_get_no_docs_page(learner_client):
    response = learner_client.get("/api/docs")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert b"swagger" not in response.content.lower()


def test_staff_get_swagger_ui_from_local_static_files(admin_client):
    response = admin_client.get("/api/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page and "/static/ninja/swagger-ui.css" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "the docs page loads from another host"


def test_the_schema_stays_at_openapi_json(learner_client):
    assert "/api/attempts/progress" in learner_client.get("/api/openapi.json").json()["paths"]


EXTERNAL = re.compile(r"""<(script|link)\b[^>]*\b(src|href)\s*=\s*["']?(https?:)?//""", re.IGNORECASE)


def _templates():
    dirs = list(settings.TEMPLATES[0]["DIRS"])
    for loader_dir in engines["django"].template_dirs:
        dirs.append(loader_dir)
    seen = set()
    for directory in dirs:
        for path in Path(directory).rglob("*.html"):
            if path not in seen:
                seen.add(path)
                yield path


def test_no_page_template_loads_a_script_or_style_from_another_host():
    """Every template Django can render (the project's, its apps', and installed apps' like ninja's)."""
    offenders = [str(path) for path in _templates()
                 if "/ninja/" not in str(path) or path.name in ("swagger.html", "redoc.html", "favicons.html")
                 if EXTERNAL.search(path.read_text(errors="replace"))]
    assert offenders == []
