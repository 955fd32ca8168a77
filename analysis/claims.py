"""The claims registry's evaluation: every checkable claim of the seed documents, the query that tests it, and its
verdict.

A verdict is computed from the data by the claim's stated rule, never written by hand: supported, refuted or
inconclusive (including "no data yet" and "not measured": evidence that could not have gone the other way decides
nothing), with the estimate and its 95% bootstrap CI where one exists. Every ratio pairs two records of the same
run. The claim types live in analysis/claim_types.py, the checks in analysis/checks.py (the ResNet-18 TVM ones in
analysis/resnet18_checks.py), the list of claims in analysis/registry.py.
"""

from __future__ import annotations

from analysis.claim_types import Claim, ClaimResult, Outcome
from analysis.dataset import Dataset


def evaluate(ds: Dataset, registry: tuple[Claim, ...]) -> list[ClaimResult]:
    """Every claim on every machine of its target; a target with no results gives one inconclusive row."""
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
