"""The site in a real browser: headless Debian Chromium driven over the DevTools protocol (CDP).

Every page must load with no console error or uncaught exception, request nothing outside the local server that
serves it, draw all of its charts, and show a backend error message containing <script> as text.
"""

from __future__ import annotations

import functools
import http.server
import itertools
import json
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.cli import main
from analysis.synthetic import XSS, demo

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--remote-allow-origins=*", "about:blank")
LOCAL_SCHEMES = ("data:", "about:", "blob:", "chrome-error:")

NO_CHROMIUM = "Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=NO_CHROMIUM)


class Cdp:
    """A minimal DevTools-protocol client over one page target: calls, and every event kept in order."""

    def __init__(self, ws_url: str) -> None:
        import websocket
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")


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
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cdp]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen([CHROMIUM, f"--user-data-dir={profile}", *FLAGS], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        cdp = Cdp(page["webSocketDebuggerUrl"])
        for domain in ("Runtime", "Log", "Network", "Page"):
            cdp.call(f"{domain}.enable")
        yield cdp
        cdp.ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def visit(cdp: Cdp, url: str) -> dict[str, Any]:
    """Load a page, wait until its charts are drawn, and return what happened meanwhile."""
    first = len(cdp.events)
    cdp.call("Page.navigate", url=url)
    deadline = time.monotonic() + 60
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = cdp.evaluate(
            "({ready: document.readyState, href: location.href,"
            " slots: document.querySelectorAll('div.chart').length,"
            " drawn: document.body ? document.body.getAttribute('data-charts-drawn') : null,"
            " plots: Array.from(document.querySelectorAll('div.chart')).filter(d => d.querySelector('.main-svg'))"
            ".length})") or {}
        if state.get("href") == url and state.get("ready") == "complete" and (
                state["slots"] == 0 or state.get("drawn") == str(state["slots"])):
            break
        time.sleep(0.1)
    time.sleep(0.2)  # let late console messages arrive
    cdp.evaluate("1")
    return {**state, "events": cdp.events[first:]}


def problems(events: list[dict[str, Any]], base: str) -> list[str]:
    found = []
    for ev in events:
        method, params = ev["method"], ev.get("params", {})
        if method == "Runtime.exceptionThrown":
            found.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(base) and not url.startswith(LOCAL_SCHEMES):
                found.append(f"external request: {url}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            found.append(f"failed load: {params.get('errorText')}")
    return found


def test_every_page_loads_cleanly_offline_with_charts(site: Path, server: str, browser: Cdp) -> None:
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert len(pages) >= 10
    charted = 0
    for page in pages:
        seen = visit(browser, server + page)
        assert seen.get("ready") == "complete", f"{page} did not finish loading: {seen}"
        assert problems(seen["events"], server) == [], page
        assert seen["plots"] == seen["slots"], f"{page}: {seen['plots']} of {seen['slots']} charts drawn"
        charted += seen["slots"] > 0
    for page in ("index.html", "suite-operators.html", "ladder.html", "tuning.html", "roofline.html",
                 "compile.html", "workloads/operators--matmul.html"):
        assert visit(browser, server + page)["plots"] > 0, f"{page} has no chart"
    assert charted >= 8


def test_error_messages_with_script_tags_are_text(server: str, browser: Cdp) -> None:
    for page in ("failures.html", "workloads/operators--conv2d.html"):
        seen = visit(browser, server + page)
        assert problems(seen["events"], server) == []
        assert browser.evaluate("window.__xss") is None, f"{page} ran a script from a result"
        assert browser.evaluate(f"document.body.innerText.includes({json.dumps(XSS)})") is True, page
        assert browser.evaluate("document.querySelectorAll('b').length === "
                                "Array.from(document.querySelectorAll('b')).filter(b => !b.textContent.includes('bad'))"
                                ".length") is True
        # the only scripts are the site's own files and the JSON data blocks of the charts
        inline = browser.evaluate("Array.from(document.scripts).filter(s => !s.src && s.type !== "
                                  "'application/json').length")
        assert inline == 0


def test_pages_open_from_disk_too(site: Path, browser: Cdp) -> None:
    """The committed site is read from a checkout as well: file:// must draw the charts with no request."""
    url = (site / "index.html").as_uri()
    seen = visit(browser, url)
    assert seen["plots"] == seen["slots"] > 0
    assert problems(seen["events"], "file://") == []
