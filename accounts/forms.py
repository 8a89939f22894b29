from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User


class SignUpForm(UserCreationForm):
    """Username, optional email, and the password twice."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")
