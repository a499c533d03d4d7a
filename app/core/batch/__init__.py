"""Batch runs: a scenario's question for every row of a spreadsheet, answered, scored, exported.

The steps, each its own module, in the order a screen or ``finr1 batch`` takes them:

1. ``table_reader.read_table(path, sheet)`` → ``InputTable`` (CSV or XLSX cells, SHA-256).
2. ``mapping.suggest_mapping(scenario, table.headers)`` → ``ColumnMapping`` (fields and the
   expected column, matched by header names), edited with ``with_changes``, checked with
   ``check_mapping``.
3. ``runner.BatchPlan(scenario, table, mapping, settings, engines, lang, tolerance)``;
   ``plan.prompt(0)`` previews the first question.
4. ``runner.open_run(store, plan, resume=…)`` → run id; ``runner.run_batch(store, plan, run_id,
   cancel=…, on_progress=…, on_row=…, on_token=…)`` → ``BatchOutcome``, a job: stopping it
   (pause or cancel) keeps every finished row, and running it again continues the run.
5. ``results_export.write_results(path, outcome, table, scenario)`` → XLSX or CSV.

Records live in the history database (``store.BatchStore``, a ``HistoryStore``): each answered row
is a conversation there, so it opens like any other; ``store.rows(run_id)`` gives the per-row
results (``BatchRow``). Scoring and agreement: ``scoring``.
"""
