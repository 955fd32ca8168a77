"""`python -m analysis report`: the site's files, a byte-identical rebuild, escaping, the summaries, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.site import MARKER
from suites.machine import REPO_ROOT
from tests.synthetic_runs import XSS, demo


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("results")
    demo(folder)
    return folder


def build(results: Path, out: Path) -> dict[str, bytes]:
    assert main(["report", "--results-dir", str(results), "--out", str(out)]) == 0
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_site_has_every_page_and_rebuilds_byte_identical(results: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    first = build(results, tmp_path / "site")
    for page in ("index.html", "claims.html", "method.html", "suite-operators.html", "suite-schedules.html",
                 "workloads/operators--matmul.html", "ladder.html", "tuning.html", "roofline.html", "compile.html",
                 "failures.html", "environment.html", "assets/plotly.min.js", "data/results.parquet",
                 "data/summary.md", MARKER):
        assert page in first, page
    assert build(results, tmp_path / "site") == first  # deterministic: same inputs, same bytes
    out = capsys.readouterr().out
    assert "claims (verdict" in out and "site:" in out


def test_results_text_is_escaped_in_the_html(results: Path, tmp_path: Path) -> None:
    site = build(results, tmp_path / "site")
    failures = site["failures.html"].decode()
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in failures
    assert XSS not in failures and "<b>bad</b>" not in failures
    for name, content in site.items():
        if name.endswith(".html"):
            assert XSS not in content.decode(), name
            assert "http://" not in content.decode() and "https://" not in content.decode(), name


def test_pages_reference_only_local_files(results: Path, tmp_path: Path) -> None:
    site = build(results, tmp_path / "site")
    index = site["index.html"].decode()
    assert 'src="assets/plotly.min.js"' in index and "Content-Security-Policy" in index
    assert 'src="../assets/plotly.min.js"' in site["workloads/operators--matmul.html"].decode()


def test_markdown_and_text_formats(results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--results-dir", str(results), "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# mlcompare report") and "| claim | verdict |" in md and "## Comparison matrix" in md
    assert main(["report", "--results-dir", str(results), "--format", "text"]) == 0
    text = capsys.readouterr().out
    assert "geomean speedup vs torch-eager" in text and "supported" in text
    assert not (results / "site").exists()  # the summaries write nothing


@pytest.mark.parametrize("args", [["--results-dir", "/nonexistent/results"], ["--runs", "20990101T000000Z-zzzz"]])
def test_bad_input_is_one_line_and_exit_2(results: Path, args: list[str], tmp_path: Path) -> None:
    argv = ["report", "--results-dir", str(results), "--out", str(tmp_path / "site"), *args]
    proc = subprocess.run([sys.executable, "-m", "analysis", *argv], capture_output=True, text=True, cwd=REPO_ROOT)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert not (tmp_path / "site").exists()


def test_refuses_to_clear_a_folder_it_did_not_write(results: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    assert main(["report", "--results-dir", str(results), "--out", str(foreign)]) == 2
    assert (foreign / "keep.txt").read_text() == "mine"
    assert "not written by this report" in capsys.readouterr().err


def test_selecting_runs(results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--results-dir", str(results), "--format", "text", "--runs", "20260101T000000Z-0001"]) == 0
    assert "in 1 runs" in capsys.readouterr().out


def _two_generations(folder: Path) -> None:
    from tests.synthetic_runs import ok, write_run
    for run_id, family, cpu in (("20260101T000000Z-zen4", "25/17", "AMD EPYC 9R14"),
                                ("20260102T000000Z-zen5", "26/2", "AMD EPYC 9R45")):
        write_run(folder, "amd-epyc-2c", run_id, [ok("numpy", "default", "mm", "a", 1e-3)],
                  machine_info={"cpu_model": cpu, "cpu_family_model": family})


def test_two_cpu_generations_are_never_pooled(tmp_path: Path) -> None:
    """A summary must name one generation (exit 2, nothing written); the site becomes one site per generation."""
    _two_generations(tmp_path / "results")
    argv = ["report", "--results-dir", str(tmp_path / "results"), "--out", str(tmp_path / "site")]
    proc = subprocess.run([sys.executable, "-m", "analysis", *argv, "--format", "text"], capture_output=True,
                          text=True, cwd=REPO_ROOT)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "25/17" in proc.stderr and "26/2" in proc.stderr and "--machine" in proc.stderr
    assert not (tmp_path / "site").exists()
    proc = subprocess.run([sys.executable, "-m", "analysis", *argv], capture_output=True, text=True, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr
    sites = sorted(p.parent.name for p in (tmp_path / "site").glob("*/index.html"))
    assert sites == ["amd-epyc-2c-f25m17", "amd-epyc-2c-f26m2"]
    for name, run in (("amd-epyc-2c-f25m17", "20260101T000000Z-zen4"), ("amd-epyc-2c-f26m2", "20260102T000000Z-zen5")):
        assert set(pd.read_parquet(tmp_path / "site" / name / "data" / "results.parquet")["run_id"]) == {run}
    index = (tmp_path / "site" / "index.html").read_text()
    assert "amd-epyc-2c-f25m17/index.html" in index and "26/2" in index


def test_machine_chooses_one_generation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _two_generations(tmp_path / "results")
    argv = ["report", "--results-dir", str(tmp_path / "results"), "--out", str(tmp_path / "site")]
    assert main([*argv, "--machine", "26/2"]) == 0
    out = capsys.readouterr().out
    assert "1 records in 1 runs" in out and "CPU generation 26/2" in out
    assert main([*argv, "--machine", "27/1"]) == 2
    assert "choices: 25/17, 26/2, amd-epyc-2c" in capsys.readouterr().err


def test_committed_results_give_a_report() -> None:
    """The real runs under results/ load without a skipped line and yield a verdict for every claim."""
    from analysis.load import committed_files
    from analysis.registry import REGISTRY
    from analysis.report import build_report
    machines = sorted({p.parent.name for p in committed_files(REPO_ROOT / "results")
                       if p.name.endswith(".manifest.json") and p.parent.parent == REPO_ROOT / "results"})
    assert machines
    for machine in machines:  # one report per CPU generation; runs still being written are not read
        report = build_report(REPO_ROOT / "results", committed=True, machine=machine)
        assert not report.ds.loaded.problems
        assert {r.claim.id for r in report.claims} == {c.id for c in REGISTRY}


def test_committed_reads_only_what_git_tracks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.synthetic_runs import ok, write_run
    write_run(tmp_path, "box", "20260101T000000Z-0001", [ok("numpy", "default", "mm", "a", 1e-3)])
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "run"], check=True)
    write_run(tmp_path, "box", "20260102T000000Z-0002", [ok("numpy", "default", "mm", "b", 1e-3)])  # in progress
    assert main(["report", "--results-dir", str(tmp_path), "--format", "text", "--committed"]) == 0
    assert "1 records in 1 runs" in capsys.readouterr().out
    assert main(["report", "--results-dir", str(tmp_path), "--format", "text"]) == 0
    assert "2 records in 2 runs" in capsys.readouterr().out
