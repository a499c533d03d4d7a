"""This machine: memory, CPU, GPU devices, what fits, and how fast a model will answer here."""
