"""Sign-up and log-in (django.contrib.auth's views, throttled: see accounts.throttle); log-out is Django's own."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts import throttle
from accounts.forms import SignUpForm, ThrottledAuthenticationForm


class ThrottledLoginView(LoginView):
    """Django's log-in page; a locked account or address is answered 429 with the time to wait."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if getattr(form, "throttled", False):
            response.status_code = 429
        return response


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = settings.LOGIN_REDIRECT_URL
    form = SignUpForm(request.POST or None)
    status = 200
    if request.method == "POST":
        wait = throttle.signup_wait(request)
        if wait:
            form.is_valid()
            form.add_error(None, throttle.signup_refusal(wait))
            status = 429
        elif form.is_valid():
            user = form.save()
            throttle.signed_up(request)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(target)
    return render(request, "registration/signup.html", {"form": form, "next": target}, status=status)
