"""Stage 6, the history: every turn in one SQLite file, replayed, and exported as documents."""
