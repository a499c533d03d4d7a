"""Tests of app.cli: the finr1 commands, run as a person runs them."""
