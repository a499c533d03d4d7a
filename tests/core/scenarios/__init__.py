"""Tests of app.core.scenarios.scenario."""
