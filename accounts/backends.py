"""django-axes' log-in lock as the first authentication backend (see settings, "Log-in throttling")."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class AxesBackend(AxesStandaloneBackend):
    """axes' check for every log-in made over HTTP: the site's log-in page and the admin's.

    ``authenticate()`` without a request (the test client's ``login()``, a shell) has no address to count
    and does not come from a visitor, so it goes on to the next backend instead of raising
    ``AxesBackendRequestParameterRequired``.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
