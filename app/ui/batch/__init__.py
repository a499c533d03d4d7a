"""A scenario's Batch view: a table of questions answered, scored and exported."""
