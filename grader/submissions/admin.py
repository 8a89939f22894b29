"""Admin for code exercises and submissions."""
