"""The site in a real browser: Playwright (sync API) driving Debian's headless Chromium, never a downloaded one.

Every page must load with no console error or uncaught exception, request nothing outside the local server that
serves it, draw all of its charts and link only to pages and anchors that exist; a backend error message containing
<script> shows as text. A page made to fail must be reported, so the checks are known to bite.

Needs the `playwright` package (requirements/cpu.txt) and Debian's `chromium` (.ci/run installs it); Playwright's
own browser download (`playwright install`) is not used. Without either the tests skip, except where
MLCOMPARE_REQUIRE_BROWSER=1 (.ci/run sets it): there they fail, so CI cannot pass by skipping.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from analysis.cli import main
from tests.synthetic_runs import XSS, demo

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    sync_playwright = None

CHROMIUM = shutil.which("chromium")
# Playwright adds --headless itself; --no-sandbox lets Chromium run as root in a container (CI); the host rule
# makes any request to a non-local host fail at once, online or not (it is still reported as an external request).
ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
LOCAL_SCHEMES = ("data:", "about:", "blob:", "chrome-error:")
CHARTS_DRAWN_MS = 15_000
# Known report bug, not the browser's: the memory-bound claim links every MEMORY_BOUND workload page
# (analysis/checks.py) whether or not it was built; the demo results have no bias_add_relu or layernorm cells.

MISSING = None
if sync_playwright is None:
    MISSING = "the playwright package is not installed (requirements/cpu.txt pins it)"
elif CHROMIUM is None:
    MISSING = "Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)"
REQUIRED = os.environ.get("MLCOMPARE_REQUIRE_BROWSER") == "1"
pytestmark = pytest.mark.skipif(MISSING is not None and not REQUIRED, reason=str(MISSING))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("results")
    demo(results)
    assert main(["report", "--results-dir", str(results), "--out", str(results / "site")]) == 0
    return results / "site"


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    """One tab for every visit, as a reader would browse: a fresh tab per page would recompile plotly.js each time."""
    if MISSING is not None:
        pytest.fail(f"{MISSING}, and MLCOMPARE_REQUIRE_BROWSER=1 demands the browser test run")
    with sync_playwright() as playwright:
        chromium: Browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(ARGS), timeout=60_000)
        page = chromium.new_page()
        page.set_default_timeout(30_000)
        yield page
        chromium.close()


@contextlib.contextmanager
def visit(page: Page, url: str, local: str, charts_ms: int = CHARTS_DRAWN_MS) -> Iterator[list[str]]:
    """Load url in the tab, wait until its charts are drawn (or charts_ms), and yield what went wrong meanwhile."""
    found: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type in ("error", "assert"):
            found.append(f"console.{msg.type}: {msg.text} ({msg.location.get('url')})")

    def on_request(request: Request) -> None:
        if not request.url.startswith((local, *LOCAL_SCHEMES)):
            found.append(f"external request: {request.url}")

    handlers: dict[str, Callable[[Any], None]] = {
        "pageerror": lambda error: found.append(f"exception: {error.name}: {error.message}"),
        "console": on_console,
        "request": on_request,
        "requestfailed": lambda request: found.append(f"failed load: {request.url} {request.failure}"),
    }
    for event, handler in handlers.items():
        page.on(event, handler)
    try:
        page.goto(url, wait_until="load")
        slots = page.locator("div.chart").count()
        if slots:
            with contextlib.suppress(PlaywrightError):  # expect_all_charts_drawn says what is missing
                page.locator(f'body[data-charts-drawn="{slots}"]').wait_for(state="attached", timeout=charts_ms)
        page.wait_for_timeout(200)  # let late console messages arrive
        yield found
    finally:
        for event, handler in handlers.items():
            page.remove_listener(event, handler)


def expect_all_charts_drawn(page: Page) -> int:
    slots = page.locator("div.chart").count()
    expect(page.locator("div.chart").filter(has=page.locator(".main-svg"))).to_have_count(slots, timeout=1_000)
    if slots:
        expect(page.locator("body")).to_have_attribute("data-charts-drawn", str(slots), timeout=1_000)
    return slots


def test_every_page_loads_cleanly_offline_with_charts_and_links(site: Path, server: str, page: Page) -> None:
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert len(pages) >= 10
    charted = 0
    anchors: dict[str, set[str]] = {}
    links: list[tuple[str, str]] = []
    for name in pages:
        with visit(page, server + name, server) as problems:
            assert page.evaluate("document.readyState") == "complete", name
            assert problems == [], name
            slots = expect_all_charts_drawn(page)
            anchors[name] = set(page.locator("[id]").evaluate_all("els => els.map(e => e.id)"))
            links += [(name, href) for href in page.locator("a[href]").evaluate_all("as => as.map(a => a.href)")]
        charted += slots > 0
    for name in ("index.html", "suite-operators.html", "ladder.html", "tuning.html", "roofline.html",
                 "compile.html", "workloads/operators--matmul.html"):
        with visit(page, server + name, server):
            assert expect_all_charts_drawn(page) > 0, f"{name} has no chart"
    assert charted >= 8
    broken = []
    for name, href in links:
        if not href.startswith(server):
            continue  # the only other links allowed are to the outside (sources, docs), not loaded here
        target, fragment = urldefrag(href)
        path = unquote(urlsplit(target).path).lstrip("/") or "index.html"
        if path.endswith("/"):
            path += "index.html"
        if not (site / path).is_file() or (fragment and fragment not in anchors.get(path, set())):
            broken.append(f"{name} -> {href[len(server):]}")
    assert sorted(broken) == []
    assert len(links) > len(pages)


def test_error_messages_with_script_tags_are_text(server: str, page: Page) -> None:
    for name in ("failures.html", "workloads/operators--conv2d.html"):
        with visit(page, server + name, server) as problems:
            assert problems == [], name
            assert page.evaluate("window.__xss") is None, f"{name} ran a script from a result"
            expect(page.locator("body")).to_contain_text(XSS, use_inner_text=True)
            expect(page.locator("b", has_text=re.compile("bad"))).to_have_count(0)
            # the only scripts are the site's own files and the JSON data blocks of the charts
            expect(page.locator("script:not([src]):not([type='application/json'])")).to_have_count(0)


def test_pages_open_from_disk_too(site: Path, page: Page) -> None:
    """The committed site is read from a checkout as well: file:// must draw the charts with no request."""
    with visit(page, (site / "index.html").as_uri(), "file://") as problems:
        assert problems == []
        assert expect_all_charts_drawn(page) > 0


def test_a_broken_page_is_reported(tmp_path: Path, page: Page) -> None:
    """The checks bite: a thrown error, console.error, a missing file, an outside request and an undrawn chart."""
    (tmp_path / "bad.html").write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body><div class=chart></div>"
        '<img src="missing.png"><img src="https://cdn.example.com/x.png">'
        "<script>console.error('said on purpose'); throw new Error('thrown on purpose')</script></body></html>")
    with visit(page, (tmp_path / "bad.html").as_uri(), "file://", charts_ms=500) as problems:
        with pytest.raises(AssertionError):
            expect_all_charts_drawn(page)
    text = "\n".join(problems)
    assert "exception: Error: thrown on purpose" in text
    assert "console.error: said on purpose" in text
    assert "failed load: " + (tmp_path / "missing.png").as_uri() in text
    assert "external request: https://cdn.example.com/x.png" in text
