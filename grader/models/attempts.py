"""Learners' attempts at quiz questions and numeric / self-assessed problems."""
