"""The batch records in the history database: the schema upgrade of an older file, rows begun and
finished in single transactions, and a run taken over from a process that died mid-row."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.core.batch.mapping import ColumnMapping
from app.core.batch.store import BatchStore
from app.core.errors import BatchBusyError, HistoryError
from app.core.history.store import SCHEMA_VERSION, HistoryStore

REPO_ROOT = Path(__file__).resolve().parents[3]


def new_run(store: BatchStore, rows: int = 3) -> int:
    return store.create_run(run_key="k", scenario_id="compliance", input_path=Path("/in.csv"),
                            input_sha256="0" * 64, input_sheet=None, headers=("question",),
                            row_count=rows, mapping=ColumnMapping({"question": "question"}),
                            settings={}, engines=[{"label": "m"}])


def begin(store: BatchStore, run_id: int, row_index: int) -> tuple[int, int]:
    return store.begin_row(run_id, 0, row_index, source_row=row_index + 2, expected="是",
                           title=f"row {row_index}", question="Q?", scenario_id="compliance",
                           form_values={"question": "Q?"}, provenance={"model_sha256": "ab"})


def test_a_history_file_of_schema_1_gains_the_batch_tables_and_keeps_its_conversations(
        tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        conversation_id = store.create_conversation("An old question")
    with sqlite3.connect(path) as connection:  # as the app before batch runs left it
        connection.execute("DROP TABLE batch_rows")
        connection.execute("DROP TABLE batch_runs")
        connection.execute("PRAGMA user_version = 1")
    connection.close()

    with BatchStore(path) as store:
        assert [c.id for c in store.conversations()] == [conversation_id]
        assert store.rows(new_run(store)) == []
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    connection.close()


def test_a_row_is_begun_in_one_transaction_or_not_at_all(tmp_path: Path) -> None:
    with BatchStore(tmp_path / "history.sqlite3") as store:
        run_id = new_run(store)
        begin(store, run_id, 0)
        with pytest.raises(HistoryError):
            begin(store, run_id, 0)  # a second record of the same row is refused…
        # …and the conversation and turn made before the refusal were rolled back with it
        assert len(store.conversations()) == 1
        (row,) = store.rows(run_id)
        assert (row.row_index, row.status) == (0, "running")


_DIES_MID_ROW = textwrap.dedent("""
    import sys
    from pathlib import Path
    from app.core.batch.store import BatchStore
    store = BatchStore(Path(sys.argv[1]))
    store.begin_row(int(sys.argv[2]), 0, 1, source_row=3, expected=None, title="row 1",
                    question="Q?", scenario_id="compliance", form_values={},
                    provenance={})
""")


def test_a_run_is_taken_over_from_a_dead_process_without_its_unfinished_row(
        tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with BatchStore(path) as store:
        run_id = new_run(store)
        conversation_id, turn_id = begin(store, run_id, 0)
        store.fail_row(run_id, 0, 0, source_row=2, expected=None, message="bad", turn_id=turn_id)
    subprocess.run([sys.executable, "-c", _DIES_MID_ROW, str(path), str(run_id)], cwd=REPO_ROOT,
                   check=True, timeout=60)

    with BatchStore(path) as store:
        assert [row.status for row in store.rows(run_id)] == ["error", "interrupted"]
        store.claim(run_id)
        (kept,) = store.rows(run_id)
        assert (kept.row_index, kept.status, kept.conversation_id) == (0, "error",
                                                                       conversation_id)
        assert [c.id for c in store.conversations()] == [conversation_id]
        assert store.finished_rows(run_id, 0) == {0}
        assert store.run(run_id).state == "running"


def test_a_run_another_live_process_answers_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with BatchStore(path) as store:
        run_id = new_run(store)
        store.set_state(run_id, "stopped")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; "
         "from app.core.batch.store import BatchStore; "
         "BatchStore(Path(sys.argv[1])).claim(int(sys.argv[2])); print('claimed', flush=True); "
         "sys.stdin.read()", str(path), str(run_id)],
        cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "claimed"
        with BatchStore(path) as store, pytest.raises(BatchBusyError, match=str(holder.pid)):
            store.claim(run_id)
    finally:
        holder.communicate(timeout=60)
    with BatchStore(path) as store:
        store.claim(run_id)  # its process has ended
