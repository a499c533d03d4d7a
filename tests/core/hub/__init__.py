"""Tests of app.core.hub."""
