"""The analysis package's own shape: one bootstrap (suites/stats.py), one copy of the site's assets, no fixture
inside the product. Import cycles, layering, names and module sizes of the whole project: tests/test_structure.py."""

from __future__ import annotations

from suites.machine import REPO_ROOT


def test_the_test_fixture_lives_in_tests() -> None:
    assert not (REPO_ROOT / "analysis" / "synthetic.py").exists()
    assert (REPO_ROOT / "tests" / "synthetic_runs.py").is_file()


def test_one_bootstrap() -> None:
    """Only suites/stats.py draws resamples: the analysis has no random numbers of its own."""
    for path in (REPO_ROOT / "analysis").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "default_rng" not in text and "np.random" not in text, path


def test_site_assets_have_one_source() -> None:
    """style.css and site.js are files under analysis/assets/, not also Python strings."""
    for name in ("site.js", "style.css"):
        assert (REPO_ROOT / "analysis" / "assets" / name).is_file()
    for path in (REPO_ROOT / "analysis").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "Plotly.newPlot" not in text and "border-collapse" not in text, path
