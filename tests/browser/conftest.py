"""Browser-test fixtures: build dist/ into a temp folder once, serve it on a free localhost port,
and drive Debian's Chromium (/usr/bin/chromium) through pytest-playwright.  Nothing touches the network."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))  # util.py, fetch_wheels.py
import build  # noqa: E402
from devserver import make_server  # noqa: E402


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """dist/ built in-process with build.main into a temp folder."""
    out = tmp_path_factory.mktemp("site") / "dist"
    assert build.main(["--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def base_url(built_site) -> str:
    """The built site served by a threaded http.server on a free localhost port (overrides pytest-base-url)."""
    server = make_server(built_site, cache=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch the system Chromium headless; `playwright install` is never needed."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def core():
    """calc.api.handle from this checkout, for CPython-side expectations."""
    sys.path.insert(0, str(ROOT))
    try:
        from calc.api import handle
    finally:
        sys.path.remove(str(ROOT))
    return handle
