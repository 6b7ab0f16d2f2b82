"""Pytest fixtures that start the fake upstream servers."""
