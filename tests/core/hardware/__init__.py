"""Tests of app.core.hardware.machine."""
