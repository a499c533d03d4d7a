"""Tests of app.core.local_build."""
