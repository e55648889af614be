"""Helpers shared by the benchmarks: waiting for a quiet machine.

The benchmark machine is shared (other sessions run tests and compilers on
the same 2 cores).  Another busy process makes OpenMP's spin-waiting threads
share one core, and a parallel loop then costs a scheduler time slice
(milliseconds) instead of microseconds; a compile competes with it for the
CPU.  So every timed cell first waits until other processes leave the CPUs
alone, and is retried when they did not during the timing.
"""
from __future__ import annotations

import os
import time

__all__ = ["QUIET", "Quiet", "cpu_jiffies"]


def cpu_jiffies() -> tuple[int, int]:
    """(busy jiffies of the whole machine, jiffies of this process and its reaped children)."""
    with open("/proc/stat") as f:
        v = [int(t) for t in f.readline().split()[1:]]
    busy = sum(v) - v[3] - v[4]  # minus idle and iowait
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime, stime (all threads), cutime, cstime (children waited for)
    return busy, sum(int(t) for t in fields[11:15])


class Quiet:
    """Wait until other processes use less than ``threshold`` of a core.

    Linux-only (reads /proc); elsewhere, or with ``max_wait == 0``, it never waits.
    """

    def __init__(self, max_wait: float = 60.0, window: float = 0.2, threshold: float = 0.1):
        self.max_wait, self.window, self.threshold = max_wait, window, threshold
        self.waited = 0.0
        self.noisy = 0
        self.available = os.path.exists("/proc/stat")

    @property
    def enabled(self) -> bool:
        return self.available and self.max_wait > 0

    def others_busy(self) -> float:
        """Cores used by other processes over the next ``window`` seconds."""
        b0, s0 = cpu_jiffies()
        time.sleep(self.window)
        b1, s1 = cpu_jiffies()
        hz = os.sysconf("SC_CLK_TCK")
        return max(0, (b1 - b0) - (s1 - s0)) / hz / self.window

    def wait(self) -> bool:
        """Block until the machine is quiet; False if ``max_wait`` passed first."""
        if not self.enabled:
            return True
        start = time.perf_counter()
        while self.others_busy() > self.threshold:
            if time.perf_counter() - start > self.max_wait:
                self.noisy += 1
                self.waited += time.perf_counter() - start
                return False
        self.waited += time.perf_counter() - start
        return True

    def snapshot(self):
        return cpu_jiffies() if self.enabled else (0, 0)

    def disturbed(self, before, after, slack: int = 2) -> bool:
        """Whether other processes used more than ``slack`` jiffies between two snapshots."""
        if not self.enabled:
            return False
        return (after[0] - before[0]) - (after[1] - before[1]) > slack

    def summary(self) -> str:
        if not self.enabled:
            return "# no waiting for a quiet machine (disabled or not Linux)"
        return (f"# waited {self.waited:.0f} s in total for other processes to leave the CPUs; "
                f"{self.noisy} measurement(s) taken while the machine stayed busy"
                + (" !! those numbers may be off" if self.noisy else ""))


QUIET = Quiet()
