"""Helpers the browser tests share."""

from __future__ import annotations

import time


def wait_ready(page, timeout_ms: int = 120_000) -> None:
    """Wait until Pyodide is up, the live result is shown and nothing is pending."""
    page.wait_for_selector("html[data-state=ready]:not([data-busy])", state="attached", timeout=timeout_ms)


def wait_until(page, expression: str, timeout_s: float = 60) -> None:
    """Poll a JS expression (a value or a promise) with page.evaluate: wait_for_function evaluates
    strings with eval, which the page's Content-Security-Policy refuses."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(50)
