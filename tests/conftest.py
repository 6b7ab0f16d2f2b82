"""Shared test configuration: the fake upstream fixtures are a plugin every test can use."""

pytest_plugins = ["tests.fakes.fixtures"]
