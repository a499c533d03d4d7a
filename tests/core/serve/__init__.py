"""Tests of app.core.serve."""
