"""grader's models, one module per concern: quiz and problem attempts; code exercises and submissions."""

from grader.models.attempts import *  # noqa: F401,F403
from grader.models.submissions import *  # noqa: F401,F403
