"""Sign up, log in, log out; learners stay out of the admin, instructors author there."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.services import INSTRUCTORS, make_instructor
from courses.models import Lesson, Phase

User = get_user_model()


def test_sign_up_creates_an_account_and_logs_in(client, db):
    response = client.post(
        reverse("signup"),
        {"username": "alan", "email": "alan@example.org", "password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("courses:catalog")
    assert User.objects.get(username="alan").email == "alan@example.org"
    assert "Signed in as alan" in client.get(reverse("courses:catalog")).content.decode()


def test_sign_up_explains_what_is_wrong(client, db):
    response = client.post(reverse("signup"), {"username": "alan", "password1": "a-long-passphrase-9", "password2": "other-9"})
    assert response.status_code == 200
    assert "The two password fields didn’t match." in response.content.decode()
    assert not User.objects.filter(username="alan").exists()


def test_sign_up_returns_to_a_local_next_page_only(client, db):
    data = {"username": "alan", "password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"}
    response = client.post(reverse("signup"), {**data, "next": "https://evil.example/"})
    assert response["Location"] == reverse("courses:catalog")


def test_log_in_and_log_out(client, learner):
    response = client.post(reverse("login"), {"username": "ada", "password": "learner-pass-123"})
    assert response.status_code == 302
    assert "Signed in as ada" in client.get(reverse("courses:catalog")).content.decode()
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "Log in" in client.get(reverse("courses:catalog")).content.decode()


def test_a_wrong_password_is_refused(client, learner):
    response = client.post(reverse("login"), {"username": "ada", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_learners_cannot_reach_the_admin(learner_client):
    response = learner_client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert learner_client.get("/admin/courses/lesson/add/").status_code == 302


def test_instructors_are_staff_in_the_instructors_group_with_authoring_permissions(learner):
    make_instructor(learner)
    learner = User.objects.get(pk=learner.pk)
    assert learner.is_staff and not learner.is_superuser
    assert learner.groups.filter(name=INSTRUCTORS).exists()
    for perm in ["add_lesson", "change_lesson", "delete_lesson", "add_choice", "change_answerpart", "add_rubricpoint"]:
        assert learner.has_perm(f"courses.{perm}")
    assert not learner.has_perm("auth.add_user")


def test_an_instructor_can_add_a_lesson_in_the_admin(client, learner):
    client.force_login(make_instructor(learner))
    phase = Phase.objects.create(course=_course(), number=25, title="Frontiers")
    inline_prefixes = ["objectives", "core_blocks", "key_terms", "worked_examples", "practice_problems", "quiz", "pitfalls"]
    management = {}
    for prefix in inline_prefixes:
        management.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    management.update({"objectives-TOTAL_FORMS": "1", "core_blocks-TOTAL_FORMS": "1"})
    response = client.post(
        "/admin/courses/lesson/add/",
        {
            "phase": phase.pk, "code": "25-03", "title": "Activation patching", "status": "draft",
            "prerequisites": "", "summary": "", "next_steps": "",
            "objectives-0-order": "1", "objectives-0-text": "Patch activations between runs",
            "core_blocks-0-order": "1", "core_blocks-0-heading": "Patching", "core_blocks-0-style": "prose",
            "core_blocks-0-body": "Replace $h$ with $h'$.",
            **management,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    lesson = Lesson.objects.get(code="25-03")
    assert lesson.objectives.get().text == "Patch activations between runs"
    assert lesson.core_blocks.get().body == "Replace $h$ with $h'$."


def _course():
    from courses.models import Course

    return Course.objects.create(slug="mi", title="Mechanistic Interpretability")


@pytest.mark.parametrize("path", ["/admin/courses/lesson/", "/admin/courses/quiz/", "/admin/courses/question/",
                                  "/admin/courses/workedexample/", "/admin/courses/practiceproblem/"])
def test_admin_authoring_pages_open(admin_client, path):
    assert admin_client.get(path).status_code == 200
    assert admin_client.get(f"{path}add/").status_code == 200
