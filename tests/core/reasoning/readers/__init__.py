"""Tests of app.core.reasoning.readers: every reader, through the registry the scenarios name."""
