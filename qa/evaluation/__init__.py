"""Evaluation: scores an index and its reader on question files with gold answers."""
