"""Project-wide fixtures. App-specific fixtures live in tests/<app>/conftest.py."""

import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def learner(db):
    return get_user_model().objects.create_user("ada", "ada@example.org", "learner-pass-123")


@pytest.fixture
def other_learner(db):
    return get_user_model().objects.create_user("grace", "grace@example.org", "learner-pass-456")


@pytest.fixture
def learner_client(client, learner):
    client.force_login(learner)
    return client
