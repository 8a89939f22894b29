from django.contrib.auth.models import Group

from accounts.services import INSTRUCTORS


def test_migrating_creates_the_instructors_group_with_course_and_grader_permissions(db):
    group = Group.objects.get(name=INSTRUCTORS)
    apps = set(group.permissions.values_list("content_type__app_label", flat=True))
    assert apps == {"courses", "grader"}
    assert group.permissions.filter(codename="add_lesson").exists()
