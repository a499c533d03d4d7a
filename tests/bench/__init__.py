"""Tests of the benchmark scripts under bench/ (their arithmetic and reports, not their figures)."""
