"""Tests of app.core.installation."""
