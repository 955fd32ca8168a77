"""The stock-vs-expert page: each backend's best stock and best expert variant on the same cells, and the gap."""

from __future__ import annotations

from pathlib import Path

from analysis.dataset import Dataset
from analysis.expert_page import gaps, verdict
from analysis.load import load_results
from suites.stats import Estimate
from tests.synthetic_runs import ok, write_run

CASES = ("a", "b", "c")


def _models(eager: float, stock: float, expert: float, extra_expert_case: bool = False) -> list[dict]:
    records = []
    for i, case in enumerate(CASES):
        seed = 10 * i
        records += [ok("torch-eager", "default", "mlp", case, eager, suite="models", seed=seed),
                    ok("inductor", "default", "mlp", case, stock, suite="models", seed=seed + 1),
                    ok("inductor", "max-autotune", "mlp", case, stock * 1.2, suite="models", seed=seed + 2),
                    ok("inductor", "freezing", "mlp", case, expert, suite="models", seed=seed + 3),
                    ok("inductor", "freezing-max-autotune", "mlp", case, expert * 1.1, suite="models", seed=seed + 4),
                    ok("numpy", "default", "mlp", case, eager, suite="models", seed=seed + 5)]
    if extra_expert_case:  # a cell only the expert path ran: not comparable, left out
        records.append(ok("inductor", "freezing", "mlp", "d", expert / 10, suite="models", seed=99))
    return records


def test_the_gap_is_best_expert_over_best_stock_on_shared_cells(tmp_path: Path) -> None:
    write_run(tmp_path, "box-2c", "20260101T000000Z-aaaa", _models(2e-3, 2e-3, 1e-3, extra_expert_case=True))
    found = gaps(Dataset(load_results(tmp_path)))
    assert [(g.backend, g.suite, g.cells) for g in found] == [("inductor", "models", 3)]  # numpy declares no expert
    g = found[0]
    assert g.stock[0] == "default" and g.expert[0] == "freezing"
    assert 1.9 < g.gap.value < 2.1 and g.gap.lo > 1.05
    assert 1.9 < g.expert[1].value < 2.1 and 0.95 < g.stock[1].value < 1.05
    assert verdict(g.gap, 0.05) == "expert faster"


def test_verdicts_respect_the_noise_band() -> None:
    assert verdict(Estimate(1.01, 0.99, 1.03), 0.05) == "no practical difference"
    assert verdict(Estimate(1.10, 1.02, 1.20), 0.05) == "inconclusive"
    assert verdict(Estimate(0.5, 0.45, 0.55), 0.05) == "stock faster"
