"""Tests of app.core.documents."""
