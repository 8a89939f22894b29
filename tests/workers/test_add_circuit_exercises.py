"""manage.py add_circuit_exercises. (That each kind's reference solution scores full marks through the sandbox,
which is what publishing needs, is tested per kind in test_<kind>.py.)"""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def test_without_the_lesson_it_says_how_to_import_it(db):
    with pytest.raises(CommandError, match=r"lesson 25-01 is not in the database; import it first"):
        call_command("add_circuit_exercises")
