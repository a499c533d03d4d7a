"""Stage 2, the library: the one place that knows which model files exist and whether they are intact."""
