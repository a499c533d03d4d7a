"""Scenarios as data: the TOML files under resources/scenarios/, checked and rendered into prompts."""
