"""Tests of app.core.history.store."""
