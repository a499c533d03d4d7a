"""Tests of app.core.batch."""
