"""Admin registrations live beside each concern; importing them here lets Django's autodiscovery find them."""

import grader.attempts.admin  # noqa: F401
import grader.submissions.admin  # noqa: F401
