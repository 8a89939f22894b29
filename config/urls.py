"""Top-level URLs. Each app mounts its own urls module; the JSON API lives under /api/ (django-ninja)."""

from django.contrib import admin
from django.urls import include, path

from config.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/", api.urls),
    path("grader/", include("grader.urls")),
    path("", include("courses.urls")),
]
