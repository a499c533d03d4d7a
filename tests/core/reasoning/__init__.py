"""Tests of app.core.reasoning: the parser, the one box rule, the LaTeX cleaner and the readers."""
