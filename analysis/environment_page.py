"""The environment page: every run's manifest (machine, versions, threads, options) and the skipped lines."""

from __future__ import annotations

import json

from analysis.html import Page, Raw, e, pre, table
from analysis.links import slug
from analysis.report import Report


def environment_page(report: Report) -> Page:
    loaded = report.ds.loaded
    page = Page("Environment of every run")
    if loaded.problems:
        page.h2("Skipped lines", "problems")
        page.add(table(["problem"], [[p] for p in loaded.problems]))
    for run_id in sorted(loaded.manifests):
        m = loaded.manifests[run_id]
        page.add(Raw(f'<h2 id="{e(slug(run_id))}">{e(run_id)} ({e(loaded.run_machine.get(run_id, ""))})</h2>'))
        machine = m.get("machine") or {}
        page.add(table([], [
            ["created", m.get("created_utc", "")], ["command", m.get("command", "")],
            ["git", json.dumps(m.get("git", {}), sort_keys=True)], ["selection", json.dumps(m.get("selection", {}),
                                                                                            sort_keys=True)],
            ["status counts", json.dumps(m.get("status_counts", {}), sort_keys=True)],
            ["calibration", json.dumps(m.get("calibration"), sort_keys=True) if m.get("calibration") else "none"],
            *([k, json.dumps(v) if isinstance(v, list | dict) else v] for k, v in sorted(machine.items()))]))
        versions = m.get("versions") or {}
        threads = m.get("threads") or {}
        page.add(table(["backend", "versions", "threads", "thread knob"], [
            [b, ", ".join(f"{k} {v}" for k, v in sorted((versions.get(b) or {}).items())),
             (threads.get(b) or {}).get("threads", ""), (threads.get(b) or {}).get("knob", "")]
            for b in sorted(set(versions) | set(threads))]))
        page.add(pre(json.dumps({k: m.get(k) for k in ("options", "sessions", "variants")}, indent=1,
                                sort_keys=True), "options, sessions, variants"))
    return page
