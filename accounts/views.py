"""Sign-up (throttled per address: accounts.throttle) and the page django-axes answers a locked log-in with;
logging in and out are django.contrib.auth's own views."""

from __future__ import annotations

from axes.helpers import get_client_ip_address, get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import login
from django.db.models import Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts import throttle
from accounts.forms import SignUpForm


def locked_out(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 saying how long until the account's or the address's lock lifts.

    Failures while locked are not counted (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT is off), so the lock
    lifts one cool-off after the last counted failure for this username or from this address.
    """
    username = get_client_username(request, credentials) or ""
    last = AccessAttempt.objects.filter(
        Q(username=username) | Q(ip_address=get_client_ip_address(request))
    ).aggregate(last=Max("attempt_time"))["last"]
    cool_off = get_cool_off(request)
    wait = (last + cool_off - timezone.now()).total_seconds() if last else cool_off.total_seconds()
    return render(request, "registration/locked_out.html", {"wait": throttle.in_words(max(wait, 1))}, status=429)


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
