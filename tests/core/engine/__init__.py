"""Tests of app.core.engine.local_engine."""
