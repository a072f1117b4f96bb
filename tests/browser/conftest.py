"""Headless Chromium (Debian's package) for the browser tests; skipped where it is absent.

Playwright drives the system Chromium: its own browser download is not available everywhere.
Screenshots go to ``test-artifacts/`` at the repository root (ignored by git).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("DCC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def open_page(chromium: Any, live: Any) -> Iterator[Any]:
    """Opens a page in a fresh browser context (one person); all are closed before the server
    stops, so no live stream outlives it."""
    contexts: list[Any] = []

    def open_one(path: str = "/", *, init_script: str | None = None) -> Any:
        context = chromium.new_context(viewport=VIEWPORT, locale="zh-CN")
        contexts.append(context)
        if init_script is not None:  # runs in every page before the page's own scripts
            context.add_init_script(init_script)
        page = context.new_page()
        page.goto(live.base_url + path)
        return page

    yield open_one
    for context in contexts:
        context.close()


@pytest.fixture()
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where this test's screenshots go."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
