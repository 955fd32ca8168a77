"""HTML building blocks. Safe by default: every value is escaped unless it is wrapped in Raw (markup we wrote).

Charts are embedded as JSON data blocks (<script type="application/json">, with <, > and & escaped) and drawn by
assets/site.js (analysis/assets/, copied at build) with the local copy of plotly.js; a Content-Security-Policy
forbids any request leaving the site.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

from analysis.charts import to_json
from analysis.links import PAGES, suite_href

CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self' data:; connect-src 'none'; base-uri 'none'; form-action 'none'")
VERDICT_CLASS = {"supported": "ok", "refuted": "bad", "inconclusive": "meh", "not measured": "na", "measured": "info"}


@dataclass(frozen=True)
class Raw:
    """Markup that is already safe (built by this package, never taken from results)."""

    markup: str

    def __str__(self) -> str:
        return self.markup


def e(value: Any) -> str:
    if isinstance(value, Raw):
        return value.markup
    if value is None:
        return ""
    return html.escape(str(value), quote=True)


def tag(name: str, content: Any = "", **attrs: Any) -> Raw:
    rendered = "".join(f' {k.rstrip("_").replace("_", "-")}="{e(v)}"' for k, v in attrs.items() if v is not None)
    if isinstance(content, list | tuple):
        content = Raw("".join(e(c) for c in content))
    return Raw(f"<{name}{rendered}>{e(content)}</{name}>")


def link(text: Any, href: str, prefix: str = "") -> Raw:
    return tag("a", text, href=prefix + href)


def join(parts: Iterable[Any], sep: str = "") -> Raw:
    return Raw(e(sep).join(e(p) for p in parts))


def table(headers: Sequence[Any], rows: Iterable[Sequence[Any]], cls: str = "") -> Raw:
    head = "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in headers) + "</tr></thead>" if headers else ""
    body = "".join("<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in rows)
    return Raw(f'<table class="{e(cls)}">{head}<tbody>{body}</tbody></table>')


@dataclass(frozen=True)
class Cell:
    """A table cell with a class (e.g. a verdict colour) and an optional tooltip."""

    content: Any
    cls: str = ""
    title: str = ""


def _td(cell: Any) -> str:
    if isinstance(cell, Cell):
        title = f' title="{e(cell.title)}"' if cell.title else ""
        return f'<td class="{e(cell.cls)}"{title}>{e(cell.content)}</td>'
    return f"<td>{e(cell)}</td>"


def fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def fmt_s(value: Any) -> str:
    """Seconds in the unit that reads best (us, ms, s)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    v = float(value)
    return f"{v * 1e6:.3g} us" if v < 1e-3 else f"{v * 1e3:.3g} ms" if v < 1 else f"{v:.3g} s"


def num(value: Any) -> Cell:
    return Cell(value, "num")


def verdict_badge(verdict: str) -> Raw:
    return tag("span", verdict, class_=f"badge {VERDICT_CLASS.get(verdict, 'na')}")


def pre(text: str | None, summary: str) -> Raw:
    """Long text (a traceback, a TIR dump) folded away, escaped."""
    if not isinstance(text, str) or not text:  # absent fields are NaN in the table
        return Raw("")
    return Raw(f"<details><summary>{e(summary)}</summary><pre>{e(text)}</pre></details>")


@dataclass
class Page:
    """One HTML page; `depth` is how many folders below the site root it sits (for relative links)."""

    title: str
    depth: int = 0
    parts: list[Raw] = field(default_factory=list)
    charts: int = 0

    @property
    def root(self) -> str:
        return "../" * self.depth

    def add(self, *parts: Any) -> None:
        self.parts.extend(p if isinstance(p, Raw) else Raw(e(p)) for p in parts)

    def h2(self, text: str, anchor: str | None = None) -> None:
        self.add(tag("h2", text, id=anchor))

    def p(self, text: Any, cls: str | None = None) -> None:
        self.add(tag("p", text, class_=cls))

    def chart(self, fig: go.Figure) -> None:
        self.charts += 1
        ident = f"chart-{self.charts}"
        data = to_json(fig).replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        self.add(Raw(f'<div class="chart" data-chart="{ident}"></div>'
                     f'<script type="application/json" id="{ident}">{data}</script>'))

    def render(self, nav: Sequence[tuple[str, str]]) -> str:
        links = " ".join(f'<a href="{e(self.root + href)}">{e(text)}</a>' for text, href in nav)
        scripts = ""
        if self.charts:
            scripts = (f'<script src="{self.root}assets/plotly.min.js"></script>'
                       f'<script src="{self.root}assets/site.js"></script>')
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<link rel="icon" href="data:,">'
            f"<title>{e(self.title)} - mlcompare</title>"
            f'<link rel="stylesheet" href="{self.root}assets/style.css"></head>'
            f'<body><nav>{links}</nav><main><h1>{e(self.title)}</h1>'
            + "".join(p.markup for p in self.parts)
            + f"</main>{scripts}</body></html>\n"
        )


def nav_links(suites: Sequence[str]) -> list[tuple[str, str]]:
    return [("Overview", PAGES["index"]), ("Claims", PAGES["claims"]),
            *((s.capitalize(), suite_href(s)) for s in suites),
            ("Schedule ladder", PAGES["ladder"]), ("Tuning curves", PAGES["tuning"]),
            ("Roofline", PAGES["roofline"]), ("Compile vs latency", PAGES["compile"]),
            ("Stock vs expert", PAGES["expert"]),
            ("Failures", PAGES["failures"]), ("Reproducibility", PAGES["reproducibility"]),
            ("Environment", PAGES["environment"]), ("Method", PAGES["method"])]
