"""Telling a killed writer from a live one when process ids are reused (Linux /proc)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from foundation.processes import process_alive, process_start_time

linux_only = pytest.mark.skipif(not os.path.exists("/proc/self/stat"),
                                reason="process start times are read from /proc")


def test_a_running_process_is_alive_and_a_finished_one_is_not() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_alive(os.getpid())
    assert not process_alive(child.pid)


@linux_only
def test_a_process_started_after_the_record_only_reuses_the_id() -> None:
    written_at = time.time() - 30  # a record written by an earlier process with this id
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = process_start_time(child.pid)
        assert started is not None and abs(started - time.time()) < 10
        assert process_alive(child.pid)
        assert process_alive(child.pid, since=time.time())
        assert not process_alive(child.pid, since=written_at)
    finally:
        child.kill()
        child.wait()


@linux_only
def test_this_process_did_not_write_what_predates_it() -> None:
    assert process_alive(os.getpid(), since=time.time())
    assert not process_alive(os.getpid(), since=1_000_000.0)  # 1970: another run, same id
