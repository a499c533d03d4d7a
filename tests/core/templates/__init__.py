"""Tests of app.core.templates."""
