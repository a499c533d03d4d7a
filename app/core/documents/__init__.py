"""Documents attached to a scenario field: PDF, Word, Excel, CSV, text, Markdown, HTML → text.

``extraction.extract_document`` reads a file in a child process under time and memory limits
and returns a ``parts.DocumentText``: its pages, sheets or sections, to be reviewed, selected
and edited before the text goes into a field like typed text. ``context_fit.measure_context_fit``
counts that text's tokens with the loaded model's tokenizer and says whether it fits the
context, and what a larger context would cost in memory.

This file imports nothing: the extraction child (``extract_child``) starts through this package
and should load only what its reader needs.
"""
