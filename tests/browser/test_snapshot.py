"""The memory snapshot in Chromium: a restored worker answers every kind of request exactly as
CPython does without fetching the calc archive, and the worker boots from the archive instead when
the snapshot is missing, of another Pyodide build, cut short, of other bytes, served as something
else, or slow to arrive.  Both boots start with the trimmed standard library (stdlib.py), and with
Pyodide's stock one when that fails or lacks a module an answer needs."""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import io
import json
import re
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from util import wait_ready, wait_until

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from gguf_files import LLAMA_META, LLAMA_TENSORS, write  # noqa: E402

import devserver  # noqa: E402

pytestmark = pytest.mark.browser
GOLDEN = json.loads((Path(__file__).parent / "golden_requests.json").read_text("utf-8"))
SNAPSHOT = "**/snapshot-*.bin.gz"
TRIMMED = "**/pyodide/calc_stdlib-*.zip"
STOCK = "pyodide/python_stdlib.zip"


def packed(data: bytes) -> bytes:
    """Bytes as the site ships the snapshot (gzip; level 1 is quick, and the browser gets a third of them)."""
    return gzip.compress(data, 1, mtime=0)


def plain(value):
    return json.loads(json.dumps(value))


@pytest.fixture(scope="module")
def info(built_site) -> dict:
    return json.loads((built_site / "build-info.json").read_text())


@pytest.fixture(scope="module")
def raw(built_site, info) -> bytes:
    """The snapshot, uncompressed."""
    return gzip.decompress((built_site / info["snapshot"]["file"]).read_bytes())


@pytest.fixture
def ctx(browser):
    context = browser.new_context(service_workers="block")
    yield context
    context.close()


def booted(page, base_url, requested: list | None = None) -> dict:
    """Load the calculator, wait until it is ready; the worker's versions (boot, why)."""
    if requested is not None:
        page.on("request", lambda r: requested.append(r.url))
    page.goto(base_url)
    wait_ready(page)
    return page.evaluate("window.calcBridge.versions")


def answers_like_cpython(page, core) -> None:
    request = {"model": "llama-3.1-8b", "quant": "q8_0", "context": 8192, "gpu": "rtx-4090", "gpus": 1}
    answer = page.evaluate("r => window.calcBridge.call('estimate', r)", request)
    assert answer["ok"] and answer["result"] == plain(core({**request, "op": "estimate"}))


def every_kind(core) -> list[tuple[str, dict]]:
    """(op, request) for each kind the page sends: the golden requests, each engine in both languages,
    a custom config, catalog and model ops, a GGUF header read and estimated, and errors."""
    catalog = core({"op": "catalog"})
    gguf = base64.b64encode(write(LLAMA_META, LLAMA_TENSORS)).decode()
    out = [("estimate", case["request"]) for case in GOLDEN] + [("catalog", {})]
    out += [("model", {"model": m["id"]}) for m in catalog["models"][:: max(1, len(catalog["models"]) // 8)]]
    config = {"hidden_size": 2048, "num_hidden_layers": 16, "num_attention_heads": 16, "vocab_size": 32000}
    for lang in ("en", "zh"):
        for engine in catalog["engines"]:
            quant = next(f["id"] for f in catalog["formats"] if engine["id"] in f["engines"])
            out.append(("view", {"model": "qwen3-32b", "engine": engine["id"], "quant": quant, "lang": lang}))
        out.append(("view", {"config": config, "lang": lang}))
        out.append(("view", {"gguf": gguf, "gguf_name": "tiny-Q4_K_M.gguf", "lang": lang}))
    out += [
        ("gguf", {"gguf": gguf}),
        ("gguf", {"gguf": gguf[:40]}),
        ("estimate", {"config": "{not json"}),
        ("estimate", {"model": "no-such-model"}),
        ("view", {"context": 0, "lang": "zh"}),
    ]
    return out


def answers_every_kind_like_cpython(page, core) -> None:
    for op, request in every_kind(core):
        answer = page.evaluate("([t, r]) => window.calcBridge.call(t, r)", [op, request])
        expected = plain(core({**request, "op": op}))
        if expected["ok"]:
            assert answer["ok"] and answer["result"] == expected, (op, request)
        else:
            assert not answer["ok"] and answer["error"] == expected["error"], (op, request)


def test_restored_snapshot_answers_every_kind_like_cpython(ctx, base_url, core, info):
    """The page restores the snapshot (and never fetches the calc archive) with the trimmed stdlib,
    never the stock one, then every request kind gets CPython's answer."""
    page = ctx.new_page()
    requested = []
    versions = booted(page, base_url, requested)
    assert versions["boot"] == "snapshot" and versions["why"] is None
    assert [u for u in requested if info["snapshot"]["file"] in u] and not [u for u in requested if info["calc_zip"] in u]
    assert versions["stdlib"] == info["stdlib"]["file"].removeprefix("pyodide/")
    assert [u for u in requested if info["stdlib"]["file"] in u] and not [u for u in requested if STOCK in u]
    answers_every_kind_like_cpython(page, core)


def test_archive_boot_with_the_trimmed_stdlib_answers_every_kind_like_cpython(ctx, base_url, core, info):
    """No snapshot: the worker boots from the archive with the trimmed stdlib too, and every request
    kind gets CPython's answer."""
    ctx.route(SNAPSHOT, lambda route: route.fulfill(status=404, body="not found"))
    page = ctx.new_page()
    requested = []
    versions = booted(page, base_url, requested)
    assert versions["boot"] == "archive" and versions["stdlib"] == info["stdlib"]["file"].removeprefix("pyodide/")
    assert not [u for u in requested if STOCK in u]
    answers_every_kind_like_cpython(page, core)


def without(zip_bytes: bytes, name: str) -> bytes:
    """A zip without one entry."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            if item.filename != name:
                out.writestr(item, source.read(item))
    return buffer.getvalue()


@pytest.mark.parametrize("served", ["missing", "lacks fractions"])
def test_trimmed_stdlib_that_fails_boots_with_the_stock_one(ctx, base_url, core, built_site, info, served):
    """The trimmed stdlib missing (404), or lacking a module calc imports (fractions, through
    statistics): the worker boots from the archive with Pyodide's stock python_stdlib.zip."""
    trimmed = (built_site / info["stdlib"]["file"]).read_bytes()
    body = without(trimmed, "fractions.py") if served != "missing" else b"not found"
    assert len(body) < len(trimmed) or served == "missing"
    status = 404 if served == "missing" else 200
    ctx.route(SNAPSHOT, lambda route: route.fulfill(status=404, body="not found"))  # made with the whole trimmed zip
    ctx.route(TRIMMED, lambda route: route.fulfill(status=status, body=body))
    page = ctx.new_page()
    requested = []
    versions = booted(page, base_url, requested)
    assert versions["boot"] == "archive" and versions["stdlib"] == "python_stdlib.zip"
    assert versions["why"].startswith("the trimmed stdlib failed: "), versions["why"]
    assert [u for u in requested if STOCK in u]
    answers_like_cpython(page, core)


def test_answer_needing_a_module_the_trimmed_stdlib_lacks_comes_from_the_stock_one(ctx, base_url, core, built_site, info):
    """A calc archive whose catalog op imports a module the trimmed stdlib leaves out (email): that
    answer says ModuleNotFoundError, so the worker boots again with the stock stdlib and answers
    from there, as CPython does."""
    archive = (built_site / info["calc_zip"]).read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "calc/api.py":
                data += b"\n_plain_catalog = _catalog\ndef _catalog():\n    import email\n    return _plain_catalog()\n"
            out.writestr(item, data)
    lazy = buffer.getvalue()
    assert not [n for n in zipfile.ZipFile(built_site / info["stdlib"]["file"]).namelist() if n.startswith("email/")]
    ctx.route(SNAPSHOT, lambda route: route.fulfill(status=404, body="not found"))
    ctx.route(f"**/{info['calc_zip']}", lambda route: route.fulfill(status=200, body=lazy))
    page = ctx.new_page()
    requested = []
    versions = booted(page, base_url, requested)
    assert versions["stdlib"] == info["stdlib"]["file"].removeprefix("pyodide/")
    answer = page.evaluate("() => window.calcBridge.call('catalog', {})")
    assert answer["ok"] and answer["result"] == plain(core({"op": "catalog"}))
    assert [u for u in requested if STOCK in u]


def test_snapshot_sent_with_content_encoding_is_restored(browser, built_site):
    """A host that sends the .gz with Content-Encoding: gzip: the browser decodes it, the worker gets
    the snapshot's own bytes and restores them."""

    class Encoding(devserver.Handler):
        cache = False

        def end_headers(self):
            if self.path.endswith(".bin.gz"):
                self.send_header("Content-Encoding", "gzip")
            super().end_headers()

    server = devserver.Server(("127.0.0.1", 0), functools.partial(Encoding, directory=str(built_site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ctx = browser.new_context(service_workers="block")
    try:
        versions = booted(ctx.new_page(), f"http://127.0.0.1:{server.server_address[1]}/")
        assert versions["boot"] == "snapshot" and versions["why"] is None
    finally:
        ctx.close()
        server.shutdown()
        server.server_close()


def fallback(ctx, base_url, core, why: str, requested: list | None = None) -> None:
    page = ctx.new_page()
    versions = booted(page, base_url, requested)
    assert versions["boot"] == "archive"
    assert re.fullmatch(why, versions["why"]), versions["why"]
    answers_like_cpython(page, core)
    assert page.is_hidden("#request-error") and "Ready" in page.text_content("#status-text")


def test_missing_snapshot_boots_from_the_archive(ctx, base_url, core):
    ctx.route(SNAPSHOT, lambda route: route.fulfill(status=404, body="not found"))
    fallback(ctx, base_url, core, "HTTP 404")


@pytest.mark.parametrize("kind", ["gzip", "raw"])
def test_cut_short_snapshot_boots_from_the_archive(ctx, base_url, core, built_site, info, raw, kind):
    whole = (built_site / info["snapshot"]["file"]).read_bytes()
    body = whole[: len(whole) // 2] if kind == "gzip" else packed(raw[: len(raw) // 2])  # the gzip cut, or what it holds
    ctx.route(SNAPSHOT, lambda route: route.fulfill(status=200, body=body))
    why = "snapshot not gzip" if kind == "gzip" else rf"snapshot of {len(raw) // 2} bytes, not {len(raw)}"
    fallback(ctx, base_url, core, why)


def test_snapshot_of_other_bytes_boots_from_the_archive(ctx, base_url, core, raw):
    other = bytearray(raw)
    other[len(other) // 2] ^= 1
    body = packed(other)
    ctx.route(SNAPSHOT, lambda route: route.fulfill(status=200, body=body))
    fallback(ctx, base_url, core, "snapshot sha256 differs")


def test_snapshot_served_as_a_page_boots_from_the_archive(ctx, base_url, core):
    """A host that answers an unknown path with its index page and status 200."""
    home = "<!doctype html><title>home</title>"
    ctx.route(SNAPSHOT, lambda route: route.fulfill(status=200, body=home, content_type="text/html"))
    fallback(ctx, base_url, core, r"snapshot of \d+ bytes, not \d+")


def test_snapshot_of_another_pyodide_build_is_refused_by_pyodide(ctx, base_url, core, info, raw):
    """A snapshot whose bytes match the page's sha256 but were made by another Pyodide build (its
    build id, bytes 16-47, differs): Pyodide refuses it and the worker boots from the archive."""
    other = bytearray(raw)
    other[16:48] = bytes(32)
    sha = hashlib.sha256(other).hexdigest()

    def page_with_that_hash(route):
        html = route.fetch().text().replace(info["snapshot"]["sha256"], sha)
        route.fulfill(status=200, body=html, content_type="text/html")

    body = packed(other)
    ctx.route(base_url, page_with_that_hash)
    ctx.route(SNAPSHOT, lambda route: route.fulfill(status=200, body=body))
    fallback(ctx, base_url, core, "Pyodide refused the snapshot: .*")


def test_snapshot_of_another_pyodide_version_is_not_fetched(ctx, base_url, core, info):
    """The page says the snapshot belongs to another Pyodide version: the worker never fetches it."""
    spec = re.escape(f"&#34;pyodide&#34;:&#34;{info['pyodide']}&#34;")

    def older(route):
        html = re.sub(spec, "&#34;pyodide&#34;:&#34;0.0.1&#34;", route.fetch().text())
        route.fulfill(status=200, body=html, content_type="text/html")

    ctx.route(base_url, older)
    requested = []
    fallback(ctx, base_url, core, "snapshot of Pyodide 0.0.1", requested)
    assert not [u for u in requested if info["snapshot"]["file"] in u]


def test_first_visit_over_a_slow_link_boots_from_the_archive(ctx, base_url, core):
    """At 8 Mbit/s (Chromium's network emulation) the snapshot's first 256 KiB take longer than the
    worker waits: it stops the download and boots from the archive."""
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    rate = 8e6 / 8  # bytes per second
    conditions = {"offline": False, "latency": 0, "downloadThroughput": rate, "uploadThroughput": rate}
    cdp.send("Network.emulateNetworkConditions", conditions)
    versions = booted(page, base_url)
    assert versions["boot"] == "archive" and versions["why"] == "slow link"


def test_repeat_visit_restores_from_the_service_worker_cache(browser, base_url, info):
    ctx = browser.new_context(service_workers="allow")
    page = ctx.new_page()
    booted(page, base_url)
    wait_until(page, "navigator.serviceWorker.controller !== null", 120)
    served = []
    page.on("response", lambda r: served.append((r.url, r.from_service_worker)))
    page.reload()
    wait_ready(page)
    assert page.evaluate("window.calcBridge.versions.boot") == "snapshot"
    assert [sw for url, sw in served if info["snapshot"]["file"] in url] == [True]
    ctx.close()
