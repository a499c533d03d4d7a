"""Tests of app.core.library.model_library."""
