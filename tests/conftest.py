"""Shared test configuration: the fake upstreams and a real Trooper server are plugins every test can use."""

pytest_plugins = ["tests.fakes.fixtures", "tests.harness"]
