"""The real app in a real headless browser (Debian's chromium, driven by Playwright):
shared by tests/test_app_browser.py and benchmarks/app.py."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from pathlib import Path

#: Where the browser is looked for: $PLANNER_CHROMIUM, else chromium on the PATH.
CHROMIUM = os.environ.get("PLANNER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def missing() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    if not CHROMIUM:
        return "no chromium browser (apt-get install chromium; .ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


@contextlib.contextmanager
def running_app(instance: Path, vary=()):
    """The app of ``instance`` serving on a free port of 127.0.0.1: yields (address, explorer)."""
    from planner.app.serve import address, make_server

    server, explorer = make_server(Path(instance), vary, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield address(server), explorer
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def browser_page(url: str, downloads: Path | None = None):
    """A headless chromium page at ``url``, the first plan shown."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page.goto(url)
            page.wait_for_selector("#solve-info:has-text('variant #')", timeout=30_000)
            yield page
        finally:
            browser.close()


def set_control(page, key: str, value, timeout: float = 30_000) -> str:
    """Type ``value`` into the control ``key``, press Enter, wait for the page to show the
    next solve; return the solve line."""
    info = page.locator("#solve-info")
    before = info.text_content()
    box = page.locator(f'input[name="{key}"]')
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_function("([el, old]) => el.textContent !== old", arg=[info.element_handle(), before],
                           timeout=timeout)
    return info.text_content()


def figure(page, key: str) -> float:
    """A key figure of the variant, at full precision (the cell's title)."""
    return float(page.locator(f"#figure-{key}").get_attribute("title"))
