"""Scenario files read and resolved on top of the shared history (history.toml)."""
