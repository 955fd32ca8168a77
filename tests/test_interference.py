"""Interference and busy threads of a timing window: from synthetic /proc values, and live beside a busy process."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from suites.interference import CLOCK_TICKS, Snapshot, Window, machine_cpu_s, summarize_window

# Live measurements of this machine's threads and load: not beside another test worker (noxfile.py).
pytestmark = pytest.mark.serial

LINUX = Path("/proc/stat").exists()


def test_proc_stat_busy_excludes_idle_and_iowait_and_steal_is_read() -> None:
    busy, steal, total = machine_cpu_s("cpu  100 10 50 800 20 5 5 10 0 0\ncpu0 1 2 3 4\n")
    assert (busy, steal, total) == pytest.approx((170 / CLOCK_TICKS, 10 / CLOCK_TICKS, 1000 / CLOCK_TICKS))


def _snap(wall: float, busy: float, steal: float, total: float, threads: dict[int, float]) -> Snapshot:
    return Snapshot(wall, busy, steal, total, threads)


def test_a_quiet_window_counts_busy_threads_and_is_not_disturbed() -> None:
    start = _snap(0.0, 100.0, 0.0, 400.0, {1: 5.0, 2: 1.0, 3: 0.0})
    # 2 s: threads 1 and 2 busy all along, thread 3 idle; the machine's busy time is exactly theirs.
    end = _snap(2.0, 104.0, 0.0, 404.0, {1: 7.0, 2: 3.0, 3: 0.01})
    result = summarize_window(start, end)
    assert result["observed_threads"] == 2 and result["own_cores"] == pytest.approx(2.0, abs=0.01)
    assert result["other_cores"] == pytest.approx(0.0, abs=0.01) and not result["disturbed"]


def test_other_work_or_steal_marks_the_window_disturbed() -> None:
    start = _snap(0.0, 100.0, 0.0, 400.0, {1: 0.0})
    busy_neighbour = summarize_window(start, _snap(2.0, 104.0, 0.0, 404.0, {1: 2.0}))
    assert busy_neighbour["other_cores"] == pytest.approx(1.0) and busy_neighbour["disturbed"]
    stolen = summarize_window(start, _snap(2.0, 102.0, 0.4, 404.0, {1: 2.0}))
    assert stolen["steal_share"] == pytest.approx(0.1) and stolen["disturbed"]


def test_a_window_below_proc_resolution_is_never_judged() -> None:
    start = _snap(0.0, 100.0, 0.0, 400.0, {1: 0.0})
    assert not summarize_window(start, _snap(0.05, 101.0, 0.0, 400.1, {1: 0.0}))["disturbed"]


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_live_a_busy_process_beside_the_window_is_seen() -> None:
    """A synthetic neighbour spinning a core while the cell spins its own: disturbed, with about a core of other
    work (more only if something else also ran, which makes it no less disturbed)."""
    neighbour = subprocess.Popen([sys.executable, "-c", "import time\nt=time.time()+30\nwhile time.time()<t: pass"])
    try:
        time.sleep(0.3)  # let it start spinning
        with Window() as window:
            _spin(1.5)
    finally:
        neighbour.kill()
        neighbour.wait()
    assert window.result["disturbed"], window.result
    assert window.result["other_cores"] >= 0.6, window.result


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_live_the_threads_that_worked_are_counted_and_ended_ones_keep_their_time() -> None:
    stop = threading.Event()

    def spin_until_stopped() -> None:
        while not stop.is_set():
            pass

    pool_thread = threading.Thread(target=spin_until_stopped)
    with Window() as alive:
        pool_thread.start()
        time.sleep(1.2)  # the main thread sleeps: one busy thread, alive at both ends like a thread pool's
    stop.set()
    pool_thread.join()
    assert alive.result["observed_threads"] == 1, alive.result

    short_lived = threading.Thread(target=_spin, args=(1.2,))
    with Window() as ended:
        short_lived.start()
        short_lived.join()
    assert ended.result["own_cores"] >= 0.7, ended.result  # the ended thread's time still counts
