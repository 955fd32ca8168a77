"""Where things live on the site, so claims and ratings can link to their evidence without importing the pages."""

from __future__ import annotations

import re


def slug(text: str) -> str:
    """A file- and anchor-safe name: letters, digits, dot, dash and underscore only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"


def workload_href(suite: str, workload: str, case: str | None = None) -> str:
    page = f"workloads/{slug(suite)}--{slug(workload)}.html"
    return page + (f"#case-{slug(case)}" if case else "")


def suite_href(suite: str) -> str:
    return f"suite-{slug(suite)}.html"


def claim_href(claim_id: str) -> str:
    return f"claims.html#{slug(claim_id)}"


PAGES = {
    "index": "index.html",
    "claims": "claims.html",
    "ladder": "ladder.html",
    "tuning": "tuning.html",
    "roofline": "roofline.html",
    "compile": "compile.html",
    "expert": "expert.html",
    "failures": "failures.html",
    "reproducibility": "reproducibility.html",
    "environment": "environment.html",
    "method": "method.html",
}
