"""Tests of foundation."""
