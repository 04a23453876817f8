"""Helpers shared by the benchmark scripts: memory probes, machine load, data folder, children.

Each benchmark runs every measurement in a fresh spawned child (:func:`run_in_child`) so that
its peak memory (``VmHWM``) belongs to that measurement alone, and prints how busy the machine
was with other work (:class:`OtherLoad`) so unreliable timings are visible.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist"
MNIST_ENV_VAR = "SKLEARN_GEN_MNIST"


# ---------------------------------------------------------------------------- memory probes
def status_kib(field: str) -> int | None:
    """A ``kB`` field of ``/proc/self/status`` (None where the file does not exist)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux >= 4.0); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO_ROOT), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.strip()


def code_version() -> str:
    """The repository's commit and whether the working tree has uncommitted changes."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"git {commit}" + (" + uncommitted changes" if dirty else "")


def _cpu_ticks() -> tuple[float, float, float]:
    """Seconds of CPU: the machine's busy and total time, this process's and its children's."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    mine = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    return (sum(fields) - idle) / tick, sum(fields) / tick, mine


class OtherLoad:
    """Share of the machine's CPU time used by processes other than this benchmark."""

    def __init__(self) -> None:
        try:
            self.start = _cpu_ticks()
        except (OSError, ValueError, IndexError):
            self.start = None

    def note(self) -> str:
        if self.start is None:
            return "unknown (no /proc/stat)"
        busy1, total1, mine1 = _cpu_ticks()
        busy0, total0, mine0 = self.start
        share = max((busy1 - busy0) - (mine1 - mine0), 0.0) / max(total1 - total0, 1e-9)
        flag = " -- other work competed for the CPU: timings are unreliable" if share > 0.1 else ""
        return f"{100 * share:.0f}% of {os.cpu_count()} cores busy with other work{flag}"


def load_note(window: float = 1.0) -> str:
    """Share of the CPU busy with other work over the next ``window`` seconds."""
    meter = OtherLoad()
    time.sleep(window)
    return meter.note()


# ---------------------------------------------------------------------------- data
def mnist_folder(arg: str | None) -> Path:
    """The MNIST folder: ``--mnist``, else ``$SKLEARN_GEN_MNIST``, else the shared folder."""
    if arg:
        return Path(arg)
    from_env = os.environ.get(MNIST_ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_MNIST


def check_mnist(folder: Path) -> int:
    """Number of MNIST test images in ``folder``; exits with a clear message if unreadable."""
    from sklearn_gen import load_mnist

    try:
        X, _ = load_mnist(folder, kind="test", return_X_y=True)
    except (OSError, ValueError) as exc:
        sys.exit(
            f"error: cannot read the MNIST test set from {folder}: {exc}\n"
            f"Pass --mnist PATH (a folder with t10k-images-idx3-ubyte[.gz] and "
            f"t10k-labels-idx1-ubyte[.gz]) or set ${MNIST_ENV_VAR}."
        )
    return len(X)


def _child(conn, func: Callable[..., dict], job: dict) -> None:
    try:
        result = func(**job)
    except BaseException as exc:  # report any failure to the parent instead of dying silently
        result = {"error": f"{type(exc).__name__}: {exc}"}
    conn.send(result)
    conn.close()


def run_in_child(func: Callable[..., dict], job: dict) -> dict:
    """Run ``func(**job)`` in a fresh spawned process and return its result."""
    ctx = mp.get_context("spawn")
    recv_end, send_end = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send_end, func, job))
    proc.start()
    send_end.close()
    try:
        result = recv_end.recv()
    except EOFError:
        result = None
    proc.join()
    if result is None:
        result = {"error": f"child process died (exit code {proc.exitcode})"}
    return result
