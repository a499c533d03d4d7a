"""Tests of app.core.chat."""
