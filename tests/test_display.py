"""What a person watching a run sees: progress lines, heartbeats of long cells, the summary table."""

from __future__ import annotations

import io

from suites.display import Progress, summary_table


def record(backend: str, variant: str, case: str, status: str, median_s: float = 0.0) -> dict:
    r = {"backend": backend, "variant": variant, "workload": "matmul", "case": case, "status": status,
         "reason": "" if status == "ok" else "because", "compile_s": 1.0}
    if status == "ok":
        r.update(timing={"median_s": median_s, "n": 10}, gflops=12.0)
    return r


def test_summary_table_shows_medians_and_short_statuses() -> None:
    table = summary_table([
        record("numpy", "default", "256", "ok", 0.0002),
        record("tvm", "tuned", "256", "ok", 1.5),
        record("tvm", "untuned", "256", "timeout"),
        record("numpy", "default", "512", "wrong_result"),
    ])
    lines = table.splitlines()
    assert lines[0].split() == ["workload", "case", "numpy", "tvm/tuned", "tvm/untuned"]
    assert lines[1].split() == ["matmul", "256", "200.0", "us", "1.5", "s", "T/O"]
    assert lines[2].split() == ["matmul", "512", "WRONG", "-", "-"]


def test_progress_lines_and_heartbeat_without_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(total=2, stream=stream, heartbeat_s=10.0)
    progress.start("tvm/tuned/matmul/256")
    progress.waiting("tvm/tuned/matmul/256", 5.0, "compile")
    progress.waiting("tvm/tuned/matmul/256", 11.0, "compile")
    progress.waiting("tvm/tuned/matmul/256", 12.0, "compile")
    progress.finish("tvm/tuned/matmul/256", record("tvm", "tuned", "256", "ok", 0.001))
    progress.start("numpy/default/matmul/256")
    progress.finish("numpy/default/matmul/256", record("numpy", "default", "256", "crash"))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert "[1/2" in lines[0] and "still running (compile, 0:11)" in lines[0]
    assert "tvm/tuned/matmul/256: ok 1 ms median of 10" in lines[1]
    assert lines[2].startswith("[2/2") and "crash: because" in lines[2]
