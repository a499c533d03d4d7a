"""Is the process that wrote something still running? For cleaning up after killed writers.

A record names its writer by process id, but ids are reused: after a crash or a reboot, and in
containers that start the app with the same id every time. ``process_alive(pid, since=t)``
therefore also asks whether the process running under that id already existed at ``t`` (when
the record was written); one started later only reuses the number. The start time is read from
``/proc`` on Linux; elsewhere a live id counts as the writer.
"""

from __future__ import annotations

import os
from pathlib import Path

# /proc/stat gives the boot time in whole seconds, so a start time is known to about a second.
START_TIME_SLACK_S = 1.0


def process_alive(pid: int, since: float | None = None) -> bool:
    """Whether process ``pid`` runs on this machine and, with ``since`` (a ``time.time()``),
    had started by then (see the module docstring)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    except OSError:
        return False  # not a valid process id here
    if since is None:
        return True
    started = process_start_time(pid)
    return started is None or started <= since + START_TIME_SLACK_S


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started, as a ``time.time()``; None where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks_since_boot = int(fields[19])  # field 22 of proc(5); fields[0] is field 3
        boot_time = next(int(line.split()[1]) for line in
                         Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        return boot_time + ticks_since_boot / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def left_by_dead_writer(path: Path, pid_text: str) -> bool:
    """Whether ``path``, named with its writer's process id ``pid_text``, was left by a writer
    that no longer runs (killed, crashed). False when it vanished meanwhile (its writer finished)
    or the name holds no process id."""
    if not pid_text.isdigit():
        return False
    try:
        written_at = path.stat().st_mtime
    except FileNotFoundError:
        return False
    return not process_alive(int(pid_text), since=written_at)


def python_child_environment() -> dict[str, str]:
    """This process's environment for a ``sys.executable -m MODULE`` child, with this project's
    packages importable whatever the child's working folder."""
    package_root = str(Path(__file__).resolve().parent.parent)
    environment = dict(os.environ)
    paths = [package_root, *filter(None, environment.get("PYTHONPATH", "").split(os.pathsep))]
    environment["PYTHONPATH"] = os.pathsep.join(paths)
    return environment
