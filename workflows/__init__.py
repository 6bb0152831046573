"""Temporal workflows: thin shells over domain/."""
