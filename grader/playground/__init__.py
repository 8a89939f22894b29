"""Run without grading: the learner's code runs on a worker with the reference model; nothing is recorded."""
