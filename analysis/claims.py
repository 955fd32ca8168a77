"""The claims registry: every checkable claim of the seed documents, the query that tests it, and its verdict.

A verdict is computed from the data by the claim's stated rule, never written by hand: supported, refuted or
inconclusive (including "no data yet"), with the estimate and its 95% bootstrap CI where one exists.
The checks live in analysis/checks.py, the list of claims in analysis/registry.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from analysis.aggregate import Dataset
from analysis.stats import Estimate

VERDICTS = ("supported", "refuted", "inconclusive")
SEEDS = {  # seed file -> what it is (the documents in ../shared/seeds/)
    "000_84592de20c79ad1d.txt": "Day 49: Stop & Reflect #4 (comparison matrix, decision flowchart)",
    "001_d01a560f90a23405.txt": "Day 29: TVM foundations (ResNet-18 on CPU, opt_level table)",
    "002_d39a76ab4d320c7f.txt": "Practice 025e: TVM scheduling & auto-tuning",
    "003_40891105f79c5e41.txt": "Day 32: tensor expressions & schedules (the schedule ladder table)",
    "004_3164e4af7ccf7958.txt": "Conversation on the TVM paper (auto-tuning cost, vendor libraries, OpenMP)",
}


@dataclass(frozen=True)
class Outcome:
    verdict: str
    detail: str  # one sentence: what was measured, in numbers
    estimate: Estimate | None = None
    unit: str = "x"
    evidence: tuple[tuple[str, str], ...] = ()  # (text, site-relative href)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str  # the claim as the seed makes it
    source: str  # seed file
    quote: str  # the seed's words
    query: str  # the data that tests it
    rule: str  # how the verdict follows from the data
    check: Callable[[Dataset, str, str], Outcome] = field(compare=False, repr=False)
    target: str = "cpu"  # cpu, gpu or any: which machines' results it is checked on


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    machine: str | None  # None: no results for the claim's target at all
    device: str | None
    outcome: Outcome


def evaluate(ds: Dataset, registry: tuple[Claim, ...] | None = None) -> list[ClaimResult]:
    """Every claim on every machine of its target; a target with no results gives one inconclusive row."""
    if registry is None:
        from analysis.registry import REGISTRY
        registry = REGISTRY
    results = []
    for claim in registry:
        scopes = ds.scopes(None if claim.target == "any" else claim.target)
        if not scopes:
            what = "" if claim.target == "any" else f"{claim.target.upper()} "
            results.append(ClaimResult(claim, None, None, Outcome(
                "inconclusive", f"no {what}results under results/ yet")))
            continue
        for machine, device in scopes:
            results.append(ClaimResult(claim, machine, device, claim.check(ds, machine, device)))
    return results
