"""What a claim is and what a check returns: the verdict vocabulary, Claim, Outcome, ClaimResult, and the two
verdict rules (directional, within a band) that turn an estimate's 95% CI into a verdict.

A leaf module: the checks, the registry and the evaluation all import it, and it imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from suites.stats import Estimate

if TYPE_CHECKING:  # for the annotation only: the dataset module does not depend on claims
    from analysis.dataset import Dataset

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


def directional(estimate: Estimate | None, threshold: float = 1.0, band: float = 0.0) -> str:
    """supported: the whole CI above threshold x (1 + band); refuted: the whole CI below it (the other way, or no
    practical difference: inside the run-to-run noise band); else inconclusive (the CI straddles the edge)."""
    if estimate is None:
        return "inconclusive"
    edge = threshold * (1.0 + band)
    if estimate.lo > edge:
        return "supported"
    if estimate.hi < edge:
        return "refuted"
    return "inconclusive"


def within_band(estimate: Estimate | None, low: float, high: float) -> str:
    """supported: the whole CI inside [low, high]; refuted: the whole CI outside it; else inconclusive."""
    if estimate is None:
        return "inconclusive"
    if low <= estimate.lo and estimate.hi <= high:
        return "supported"
    if estimate.hi < low or estimate.lo > high:
        return "refuted"
    return "inconclusive"
