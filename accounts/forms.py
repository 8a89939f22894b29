from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from accounts import throttle


class SignUpForm(UserCreationForm):
    """Username, optional email, and the password twice."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class ThrottledLoginMixin:
    """Refuses a log-in while the account or the address is locked (accounts.throttle), before checking the password."""

    throttled = False

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        wait = throttle.login_wait(username, self.request)
        if wait:
            self.throttled = True
            raise ValidationError(throttle.login_refusal(wait), code="throttled")
        try:
            data = super().clean()
        except ValidationError as error:
            if getattr(error, "code", None) == "invalid_login":
                throttle.login_failed(username, self.request)
            raise
        throttle.login_succeeded(username)
        return data


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
