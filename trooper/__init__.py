"""Trooper: a local-first LLM proxy and notebook workspace."""

__version__ = "0.1.0"
