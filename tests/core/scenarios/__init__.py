"""Tests of app.core.scenarios: the scenario files, their checks and prompt rendering."""
