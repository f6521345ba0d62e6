"""Helpers for bench/run.py: what a process costs, read from /proc; timed launches; the report.

Everything here reads; nothing starts a process it does not also stop (by PID, with a
timeout) before returning.
"""

from __future__ import annotations

import os
import select
import statistics
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.desktop import stop_process

CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- /proc ---------------------------------------------------------------------------------


def _fields(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        out[key.strip()] = value.strip()
    return out


def _kb(value: str) -> int:
    return int(value.split()[0]) if value else 0


@dataclass(frozen=True)
class Memory:
    """Resident memory of one process, in KiB."""

    rss: int
    pss: int
    uss: int  # private (clean + dirty): what ending the process would give back
    threads: int

    @property
    def rss_mb(self) -> float:
        return self.rss / 1024

    @property
    def pss_mb(self) -> float:
        return self.pss / 1024

    @property
    def uss_mb(self) -> float:
        return self.uss / 1024


def memory(pid: int) -> Memory:
    status = _fields(Path(f"/proc/{pid}/status"))
    try:
        rollup = _fields(Path(f"/proc/{pid}/smaps_rollup"))
    except OSError:
        rollup = {}
    return Memory(
        rss=_kb(status.get("VmRSS", "")),
        pss=_kb(rollup.get("Pss", "")),
        uss=_kb(rollup.get("Private_Clean", "")) + _kb(rollup.get("Private_Dirty", "")),
        threads=int(status.get("Threads", "0")),
    )


def mapped(pid: int, needle: str) -> bool:
    """Does the process map a file whose path contains ``needle``?"""
    try:
        return any(needle in line for line in Path(f"/proc/{pid}/maps").read_text().splitlines())
    except OSError:
        return False


@dataclass(frozen=True)
class ThreadTimes:
    run_ns: int  # time on a CPU (schedstat), nanoseconds
    voluntary: int  # context switches: the thread went to sleep (a wake-up follows)
    involuntary: int


@dataclass(frozen=True)
class CpuSnapshot:
    at: float  # time.monotonic()
    ticks: int  # utime + stime of the whole process, dead threads included (/proc/PID/stat)
    threads: Mapping[int, ThreadTimes]

    @property
    def seconds(self) -> float:
        return self.ticks / CLK_TCK


def cpu(pid: int) -> CpuSnapshot:
    at = time.monotonic()
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(stat[11]) + int(stat[12])  # fields 14 and 15: utime, stime
    threads: dict[int, ThreadTimes] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            run_ns = int((task / "schedstat").read_text().split()[0])
            status = _fields(task / "status")
        except (OSError, IndexError, ValueError):
            continue  # the thread ended while we looked
        threads[int(task.name)] = ThreadTimes(
            run_ns,
            int(status.get("voluntary_ctxt_switches", "0")),
            int(status.get("nonvoluntary_ctxt_switches", "0")),
        )
    return CpuSnapshot(at, ticks, threads)


@dataclass(frozen=True)
class CpuDelta:
    seconds: float  # wall time between the snapshots
    cpu_ticks_s: float  # from utime+stime (10 ms resolution)
    cpu_ns_s: float  # from the threads' schedstat (ns resolution; live threads only)
    switches: int  # voluntary + involuntary, all threads
    voluntary: int
    per_thread: Mapping[int, tuple[float, int]]  # tid -> (cpu s, voluntary switches)
    threads_gone: int

    @property
    def cpu_s(self) -> float:
        """The precise figure when the thread set was stable, else the tick count."""
        return self.cpu_ns_s if self.threads_gone == 0 else self.cpu_ticks_s


def delta(a: CpuSnapshot, b: CpuSnapshot) -> CpuDelta:
    run = vol = inv = 0
    per: dict[int, tuple[float, int]] = {}
    for tid, t in b.threads.items():
        base = a.threads.get(tid, ThreadTimes(0, 0, 0))
        d_run, d_vol = t.run_ns - base.run_ns, t.voluntary - base.voluntary
        run += d_run
        vol += d_vol
        inv += t.involuntary - base.involuntary
        per[tid] = (d_run / 1e9, d_vol)
    gone = len(set(a.threads) - set(b.threads))
    return CpuDelta(b.at - a.at, (b.ticks - a.ticks) / CLK_TCK, run / 1e9, vol + inv, vol, per,
                    gone)


# -- processes -----------------------------------------------------------------------------


# Stop by PID with a timeout, then kill: the same helper the tests use.
stop = stop_process


@dataclass(frozen=True)
class Timed:
    wall: float  # seconds from launch to the event (first line, or exit)
    cpu: float  # user + system CPU seconds of the whole run (from wait4)
    line: str = ""


def _reap(proc: subprocess.Popen[Any], timeout: float) -> float:
    """Wait for ``proc`` (killing it after ``timeout``); its user + system CPU seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime
        time.sleep(0.002)
    stop(proc)
    raise TimeoutError(f"{proc.args!r} still running after {timeout:g} s")


def first_line(argv: Sequence[str], env: Mapping[str, str], cwd: Path,
               timeout: float = 20.0) -> Timed:
    """Seconds from launch to the first line on stdout (and that line), and the CPU time of
    the whole run; the process is killed if it outlives ``timeout``."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), env=dict(env), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = b""
    elapsed = float("nan")
    try:
        deadline = start + timeout
        while b"\n" not in data:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no line from {argv[0]} within {timeout:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"{' '.join(argv)} printed nothing")
            data += chunk
            if b"\n" in data:
                elapsed = time.perf_counter() - start
        while chunk and select.select([fd], [], [], max(0.0, deadline - time.perf_counter()))[0]:
            chunk = os.read(fd, 4096)  # drain to EOF, so the exit is never held up by a pipe
        used = _reap(proc, timeout)
    finally:
        stop(proc)
    return Timed(elapsed, used, data.split(b"\n", 1)[0].decode(errors="replace"))


def run_time(argv: Sequence[str], env: Mapping[str, str], cwd: Path,
             timeout: float = 20.0) -> Timed:
    """Seconds from launch to exit (which must be 0), and the CPU time used."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), env=dict(env), cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        used = _reap(proc, timeout)
        elapsed = time.perf_counter() - start
    finally:
        stop(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}")
    return Timed(elapsed, used)


def importtime(argv: Sequence[str], env: Mapping[str, str], cwd: Path,
               timeout: float = 20.0) -> dict[str, tuple[int, int, int]]:
    """``python -X importtime``: module -> (self µs, cumulative µs, nesting depth)."""
    result = subprocess.run(list(argv), env=dict(env), cwd=cwd, capture_output=True,
                            text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    table: dict[str, tuple[int, int, int]] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        table[name.strip()] = (int(parts[0]), int(parts[1]), depth)
    if not table:
        raise RuntimeError(f"no -X importtime output from {' '.join(argv)}: {result.stderr!r}")
    return table


def median(values: Iterable[float]) -> float:
    seq = [v for v in values if v == v]  # drop NaN
    return statistics.median(seq) if seq else float("nan")


def wait_until(predicate: Any, timeout: float, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy; that value, or None at the end."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# -- the report ----------------------------------------------------------------------------


@dataclass
class Report:
    """Prints one ``name: value unit`` line per figure as it is measured, then the budgets."""

    figures: dict[str, float | None] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    budgets: list[tuple[str, bool | None, str]] = field(default_factory=list)

    def figure(self, name: str, value: float | None, unit: str, digits: int = 1,
               note: str = "") -> None:
        self.figures[name] = value
        if value is None or value != value:
            text = f"{name}: n/a"
        else:
            text = f"{name}: {value:.{digits}f} {unit}".rstrip()
        if note:
            text += f" ({note})"
        print(text, flush=True)

    def missing(self, names: Iterable[str], why: str, failed: bool = True) -> None:
        for name in names:
            self.figure(name, None, "", note=why)
        if failed:
            self.failures.append(why)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def budget(self, name: str, ok: bool | None, text: str) -> None:
        self.budgets.append((name, ok, text))

    def finish(self) -> None:
        print("budgets:", flush=True)
        for name, ok, text in self.budgets:
            verdict = "n/a " if ok is None else ("PASS" if ok else "MISS")
            print(f"budget_{name}: {verdict} {text}", flush=True)
        if self.notes:
            print("notes:")
            for text in self.notes:
                print(f"# {text}")
        for why in self.failures:
            print(f"error: {why}", flush=True)
