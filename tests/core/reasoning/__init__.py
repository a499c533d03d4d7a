"""Tests of app.core.reasoning.parser."""
