"""Admin for attempts, the gradebook and item analysis."""
