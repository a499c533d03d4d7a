"""Benchmarks: run on demand, each reporting ratios against a baseline measured in the same run."""
