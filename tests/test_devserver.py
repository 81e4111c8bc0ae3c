"""devserver.py: the headers a static host gives the site, as the browser tests and `build.py --serve` see them."""

from __future__ import annotations

import sys
import threading
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from devserver import make_server

FILES = {
    "index.html": b"<!doctype html>",
    "pyodide/pyodide.asm.wasm": b"\0asm",
    "pyodide/pyodide.mjs": b"export {}",
    "calc-0123abcd.zip": b"PK",
    "wheels/x-1-py3-none-any.whl": b"PK",
    "build-info.json": b"{}",
}


@pytest.fixture(params=[True, False], ids=["cache", "no-store"])
def served(request, tmp_path):
    for name, data in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    server = make_server(tmp_path, cache=request.param)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", request.param
    server.shutdown()
    server.server_close()


def get(url: str):
    with urllib.request.urlopen(url) as response:
        return response.read(), response.headers


@pytest.mark.parametrize(
    ("name", "mime", "cached"),
    [
        ("index.html", "text/html", "no-cache"),
        ("pyodide/pyodide.asm.wasm", "application/wasm", "no-cache"),
        ("pyodide/pyodide.mjs", "text/javascript", "no-cache"),
        ("calc-0123abcd.zip", "application/zip", "public, max-age=31536000, immutable"),
        ("calc-0123abcd.zip?v=2", "application/zip", "public, max-age=31536000, immutable"),
        ("wheels/x-1-py3-none-any.whl", "application/zip", "no-cache"),
        ("build-info.json", "application/json", "no-cache"),
    ],
)
def test_types_and_cache_headers(served, name, mime, cached):
    base, cache = served
    body, headers = get(base + name)
    assert body == FILES[name.split("?")[0]]
    assert headers["Content-Type"].split(";")[0] == mime
    assert headers["Cache-Control"] == (cached if cache else "no-store")
