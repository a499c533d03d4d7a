"""The history sidebar and exports to PDF."""
