"""Stage 4, reasoning: Fin-R1's streamed reply cut into reasoning, answer and boxed result, and read
for what a scenario asks."""
