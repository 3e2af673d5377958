"""Shared fixtures of the real-browser tests: Debian's Chromium, driven by Playwright for Python.

- ``browser``: one Chromium for the whole session, launched from /usr/bin/chromium (never a browser that
  ``playwright install`` downloads). Without it the tests are skipped, or fail when REQUIRE_BROWSER=1
  (as in CI).
- ``new_page``: a factory for pages in a fresh browser context that records every console error, page
  error and failed request, and aborts (and records) every request that would leave this machine.
- ``artifacts_dir``: where screenshots go: $ARTIFACTS (default test-artifacts/ at the repository root).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# Schemes that never touch the network (inline data, in-page objects).
LOCAL_SCHEMES = frozenset({"data", "blob", "about", "file", "chrome", "chrome-extension", "devtools"})


# Any URL that is not http(s)/ws(s) to localhost, nor data:, blob: or about: (what `is_local` accepts).
NOT_LOCAL = re.compile(
    r"^(?!(?:https?|wss?)://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?(?:[/?#]|$))"
    r"(?!(?:data|blob|about|file|chrome|chrome-extension|devtools):)"
)


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or (parts.hostname or "") in LOCAL_HOSTS


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, launched once per session."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium (the browser tests never download one)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(os.environ.get("ARTIFACTS") or REPO / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class PageLog:
    """What went wrong on a page, as the test can report it."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [f"request leaving localhost (aborted): {url}" for url in self.external_requests]
            + [f"console error: {text}" for text in self.console_errors]
            + [f"page error: {text}" for text in self.page_errors]
            + [f"failed request: {text}" for text in self.failed_requests]
        )


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., tuple[Any, PageLog]]]:
    """``page, log = new_page()``: a page in its own context; ``log`` fills in as the page runs.

    Requests to any host but localhost are aborted before they leave, and listed in
    ``log.external_requests``. Keyword arguments go to ``browser.new_context`` (e.g. ``viewport``).
    """
    contexts = []

    def make(**context_options: Any) -> tuple[Any, PageLog]:
        options = {"viewport": {"width": 1280, "height": 900}, "service_workers": "block", **context_options}
        context = browser.new_context(**options)
        contexts.append(context)
        log = PageLog()

        # Every request that is not to localhost is aborted before it leaves (the pattern is matched inside
        # the browser driver, so local requests are not slowed down), and counted by the listener below.
        context.route(NOT_LOCAL, lambda route: route.abort("blockedbyclient"))
        context.on("request", lambda request: is_local(request.url) or log.external_requests.append(request.url))
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and log.console_errors.append(_describe(message)))
        page.on("pageerror", lambda error: log.page_errors.append(str(error)))
        page.on(
            "requestfailed",
            lambda request: is_local(request.url) and log.failed_requests.append(f"{request.url} ({request.failure})"),
        )
        return page, log

    yield make
    for context in contexts:
        context.close()


def _describe(message: Any) -> str:
    location = message.location or {}
    where = location.get("url", "")
    if where and location.get("lineNumber") is not None:
        where += f":{location['lineNumber']}"
    return f"{message.text} ({where})" if where else message.text
