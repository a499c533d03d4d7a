"""Tests of quant."""
