"""`python -m analysis report`: build the site (default), or print a Markdown or text summary.

Bad input (a missing results folder, an unknown run id, an --out folder this tool did not write, runs of more than
one CPU generation without --machine) gets a one-line error and exit code 2, before anything is written.

One report, one CPU generation: two machines' timings are never pooled. When the selected runs (every run, --runs,
--committed) come from one CPU generation (the manifests' machine.cpu_family_model), the report is built from them;
when they span several, --machine chooses: a machine directory under the results folder (e.g. amd-epyc-f25m17-2c)
or a generation (e.g. 25/17 for Zen 4, 26/... for Zen 5). Without it the html format builds one site per generation,
each in a folder of the site named for its machine directory, under an index page; the text and Markdown formats
need --machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from suites.machine import REPO_ROOT


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    report = sub.add_parser("report", help="turn results/ into tables, a static site and a summary")
    report.add_argument("--format", choices=("html", "markdown", "text"), default="html",
                        help="html: write the site and print the text summary (default); markdown/text: print only")
    report.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    report.add_argument("--out", type=Path, default=None, help="site folder (default: <results-dir>/site)")
    report.add_argument("--runs", default="", help="comma-separated run ids (default: every run; tuning curves are "
                        "always all read)")
    report.add_argument("--committed", action="store_true",
                        help="read only the runs and tuning files git tracks (how the committed site is built)")
    report.add_argument("--machine", default=None,
                        help="build from one machine directory (e.g. amd-epyc-2c) or one CPU generation, the "
                        "manifests' cpu family/model (e.g. 25/17); required when the selected runs span several "
                        "generations, which are never pooled")
    return p


def per_machine_sites(args: argparse.Namespace, run_ids: list[str] | None, out: Path,
                      machines: dict[str, list[str]]) -> int:
    """One site per CPU generation, each built from that generation's runs alone, under an index page."""
    from analysis.docs_figures import update_docs_figures
    from analysis.report import build_report, text_summary
    from analysis.site import prepare_out, write_index, write_site

    prepare_out(out)
    sites = {}
    for generation, directories in sorted(machines.items()):
        report = build_report(args.results_dir, run_ids, args.committed, generation)
        name = "+".join(directories)
        if any(set(directories) & set(other) for g, other in machines.items() if g != generation):
            name += "-f{}m{}".format(*generation.split("/"))  # one directory holding two generations (old runs)
        sites[name] = (generation, report, len(write_site(report, out / name)))
        print(text_summary(report, out / name))
    write_index(out, {name: (generation, pages) for name, (generation, _, pages) in sites.items()})
    update_docs_figures(args.results_dir)
    print(f"({len(sites)} machines: {', '.join(sites)}; index {out / 'index.html'})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from analysis.load import MixedGenerations
    from analysis.report import build_report, markdown, text_summary  # heavy imports after argument errors
    run_ids = [r.strip() for r in args.runs.split(",") if r.strip()] or None
    out = args.out or args.results_dir / "site"
    try:
        try:
            report = build_report(args.results_dir, run_ids, args.committed, args.machine)
        except MixedGenerations as mixed:
            if args.format != "html" or args.machine:
                raise
            return per_machine_sites(args, run_ids, out, mixed.machines)
        if args.format == "markdown":
            sys.stdout.write(markdown(report))
            return 0
        if args.format == "text":
            print(text_summary(report))
            return 0
        from analysis.docs_figures import update_docs_figures
        from analysis.site import write_site
        written = write_site(report, out)
        update_docs_figures(args.results_dir)  # the figures README.md and docs/ quote, from the committed runs
    except (FileNotFoundError, KeyError, FileExistsError, MixedGenerations) as exc:
        message = exc.args[0] if exc.args else str(exc)
        print(f"error: {message}", file=sys.stderr)
        return 2
    print(text_summary(report, out))
    print(f"({len(written)} pages)")
    return 0
