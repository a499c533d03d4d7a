"""Helpers shared by tests and benchmarks: tiny models, local servers, steering, Qt waits."""
