"""Browser fixtures for the explorer's pages: Debian's chromium (scripts/ensure_chromium.sh installs
it; Playwright's own browsers are never downloaded) driven by Playwright against the session's real
gunicorn on the test database (tests/live_server.py), recording every request and console error,
and an axe-core check with the vendored axe (explorer/vendor, `make explorer-vendor`)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "explorer" / "vendor" / "node_modules" / "axe-core" / "axe.min.js"
MAPLIBRE = ROOT / "explorer" / "static" / "explorer" / "vendor" / "maplibre-gl" / "maplibre-gl-csp.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1280, "height": 900}


def _missing(what: str) -> None:
    """Without chromium or the vendored files the browser tests cannot run: skipped on a developer's
    machine, a failure in CI (where `make test` installs both)."""
    if os.environ.get("CI"):
        pytest.fail(what)
    pytest.skip(what)


@pytest.fixture(scope="module")
def browser(live_api):
    """One chromium per test module. Module-scoped, not session-scoped: while Playwright's sync API
    runs, its event loop makes Django refuse ORM calls in this thread, so it must be gone before
    the next module's database tests (and the tests here read the API over HTTP, not the ORM)."""
    executable = shutil.which("chromium")
    if executable is None:
        _missing("chromium is not installed (make test runs scripts/ensure_chromium.sh)")
    if not (AXE.is_file() and MAPLIBRE.is_file()):
        _missing("the vendored MapLibre and axe-core are missing (make explorer-vendor)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    """A page on the live server, with every request it made and every console error."""

    page: object
    base: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: str):
        response = self.page.goto(self.base + path, wait_until="networkidle")
        assert response is not None and response.status == 200, (path, response and response.status)
        return response

    def assert_clean(self) -> None:
        """No request left the app's host, and nothing was logged as an error."""
        host = urlsplit(self.base).netloc
        foreign = [u for u in self.requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                   and urlsplit(u).netloc != host]
        assert not foreign, f"requests to other hosts: {foreign}"
        assert all(urlsplit(u).scheme in ("http", "blob", "data") for u in self.requests), self.requests
        assert not self.errors, f"console errors: {self.errors}"


@pytest.fixture
def visit(browser, live_api):
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    seen = Visit(page=page, base=live_api)
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("console", lambda message: seen.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: seen.errors.append(f"uncaught: {error}"))
    page.on("requestfailed", lambda request: seen.errors.append(f"failed: {request.url} {request.failure}"))
    try:
        yield seen
    finally:
        context.close()


def axe_violations(page, *, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's violations of the page at `impacts`, with the elements concerned. The vendored
    axe.min.js is evaluated through the DevTools protocol, which the page's CSP does not govern
    (a <script> tag with it would be refused, as it should be)."""
    page.evaluate(AXE.read_text())
    violations = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                             nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""")
    return [v for v in violations if v["impact"] in impacts]
