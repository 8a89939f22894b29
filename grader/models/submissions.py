"""Code exercises and their submissions, with the event history of every submission."""
