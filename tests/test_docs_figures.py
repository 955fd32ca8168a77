"""The figures the docs quote are the committed results' figures (analysis/docs_figures.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis.docs_figures import (
    BLOCK,
    BLOCKS,
    doc_paths,
    render_blocks,
    rewrite,
    run_wall_s,
    stale_docs,
    update_docs_figures,
)
from suites.machine import REPO_ROOT

RESULTS = REPO_ROOT / "results"


@pytest.fixture(scope="module")
def blocks() -> dict[str, str]:
    return render_blocks(RESULTS)


def test_committed_docs_agree_with_the_committed_results(blocks: dict[str, str]) -> None:
    stale = stale_docs(RESULTS, blocks=blocks)
    assert not stale, (f"generated figures are out of date in {[str(p.relative_to(REPO_ROOT)) for p in stale]}: "
                       "run `python -m analysis report --committed` and commit the docs")


def test_every_block_is_quoted_and_filled(blocks: dict[str, str]) -> None:
    used = {match["name"] for path in doc_paths() for match in BLOCK.finditer(path.read_text(encoding="utf-8"))}
    assert used == set(BLOCKS)
    assert all(("\n" + body).count("\n| ") >= 3 for body in blocks.values())  # each holds a filled table


def test_a_wrong_figure_is_detected(tmp_path: Path, blocks: dict[str, str]) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    body = next(m["body"] for m in BLOCK.finditer(readme) if m["name"] == "run-times")
    first_minutes = re.search(r"\| (\d+) min \|", body)
    assert first_minutes
    wrong_body = body.replace(first_minutes.group(0), f"| {int(first_minutes.group(1)) + 1} min |", 1)
    (tmp_path / "README.md").write_text(readme.replace(body, wrong_body), encoding="utf-8")
    assert stale_docs(RESULTS, tmp_path, blocks) == [tmp_path / "README.md"]
    fixed = rewrite((tmp_path / "README.md").read_text(encoding="utf-8"), blocks)
    assert fixed == readme


def test_a_hand_edited_block_is_restored_and_text_outside_is_kept(blocks: dict[str, str]) -> None:
    doc = "intro\n<!-- figures:machines -->\n| typed by hand |\n<!-- /figures -->\nafter\n"
    assert rewrite(doc, blocks) == f"intro\n<!-- figures:machines -->\n{blocks['machines']}<!-- /figures -->\nafter\n"
    assert rewrite("    <!-- figures:nonsense -->\n    <!-- /figures -->\n", blocks).startswith("    <!--")


def test_an_unknown_block_is_an_error(blocks: dict[str, str]) -> None:
    with pytest.raises(KeyError, match="unknown figures block 'typo'"):
        rewrite("<!-- figures:typo -->\n<!-- /figures -->\n", blocks)


def test_only_the_repos_own_results_rewrite_the_docs(tmp_path: Path) -> None:
    assert update_docs_figures(tmp_path / "elsewhere", REPO_ROOT) == []
    assert update_docs_figures(RESULTS, tmp_path) == []  # tmp_path/results is not RESULTS: nothing written


def test_a_killed_session_ends_at_its_last_record() -> None:
    manifest = {"sessions": [
        {"started_utc": "2026-11-21T07:00:00Z"},  # killed: no finished_utc
        {"started_utc": "2026-11-21T09:00:00Z", "finished_utc": "2026-11-21T09:10:00Z"}]}
    finished = ["2026-11-21T07:20:00Z", "2026-11-21T07:30:00Z", "2026-11-21T09:05:00Z"]
    assert run_wall_s(manifest, finished) == 40 * 60
