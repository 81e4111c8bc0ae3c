"""The supervised worker (web/js/bridge.js): a start that fails or stalls ends in a clear error with
a retry; a worker that dies, answers garbage or grows too large is replaced and the request answered."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from util import wait_ready, wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def page_with(browser, base_url):
    """A fresh page whose bridge limits are shortened: page_with(**limits) -> page (not yet loaded)."""
    contexts = []

    def make(**limits):
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        ctx.add_init_script(f"window.calcTimeouts = {json.dumps(limits)};")
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def total_shown(page) -> str:
    return page.text_content('#result-body [data-out="total"]').strip()


def wasm_404(route):
    route.fulfill(status=404, body="gone")


def wasm_cut(route):
    body = route.fetch().body()
    route.fulfill(status=200, body=body[: len(body) // 3], headers={"content-type": "application/wasm"})


def wasm_hangs(route):
    pass  # never answered: the download stalls


# (handler, the stall limit): only the stalled download needs a short one to end in an error soon; the
# retried boot must not trip it on a busy 2-core machine, where one start-up stage can take seconds.
BROKEN = [(wasm_404, 30_000), (wasm_cut, 30_000), (wasm_hangs, 10_000)]


@pytest.mark.parametrize(("handler", "stall_ms"), BROKEN, ids=["missing", "truncated", "stalled"])
def test_broken_runtime_ends_in_error_with_retry(page_with, base_url, handler, stall_ms):
    page = page_with(bootStallMs=stall_ms)
    page.route("**/pyodide.asm.wasm", handler)
    page.goto(base_url)
    page.wait_for_selector("html[data-state=error]", state="attached", timeout=60_000)
    text = page.text_content("#status-text")
    assert ("stopped loading" in text or "could not start" in text) and "Traceback" not in text
    assert page.is_visible("#retry") and total_shown(page)  # the pre-rendered numbers stay
    assert page.is_hidden("#request-error")
    page.unroute("**/pyodide.asm.wasm")
    page.click("#retry")
    wait_ready(page)
    assert page.is_hidden("#retry") and "Ready" in page.text_content("#status-text")


def test_terminated_worker_is_replaced_and_the_request_answered(page_with, base_url, core):
    page = page_with(requestMs=2000)
    page.goto(base_url)
    wait_ready(page)
    page.evaluate("window.calcBridge.worker.terminate()")
    page.fill("#batch", "2")
    wait_until(page, "window.calcBridge.restarts === 1")
    wait_ready(page)
    defaults = {k: v for k, v in core({"op": "catalog"})["defaults"].items() if k != "op"}
    expected = core({**defaults, "batch": 2, "op": "view", "lang": "en"})["view"]["text"]["total"]
    assert total_shown(page) == expected
    assert page.is_hidden("#request-error")


def test_garbage_answer_replaces_the_worker(page_with, base_url):
    """A worker whose first answer is not JSON (a corrupted heap) is replaced; its request is answered."""
    page = page_with()
    answers = iter(["junk"])

    def flag(route):
        route.fulfill(status=200, body=next(answers, "fine"))

    def patched_worker(route):
        text = route.fetch().text()
        old = "text = calc.handleJson("
        assert old in text
        new = 'text = (await (await fetch("/__flag")).text()) === "junk" ? "{junk" : calc.handleJson('
        route.fulfill(status=200, body=text.replace(old, new), headers={"content-type": "text/javascript"})

    page.route("**/__flag", flag)
    page.route("**/worker.js", patched_worker)
    page.goto(base_url)
    wait_ready(page)
    assert page.evaluate("window.calcBridge.restarts") == 1
    assert page.is_hidden("#request-error") and "Ready" in page.text_content("#status-text")


def test_worker_past_its_memory_limit_is_replaced(page_with, base_url):
    page = page_with(heapLimit=1)
    page.goto(base_url)
    wait_ready(page)
    answer = page.evaluate("window.calcBridge.call('estimate', {model: 'llama-3.1-8b'})")
    assert answer["ok"] and answer["heap"] > 2**20
    wait_until(page, "window.calcBridge.restarts >= 2")
    wait_ready(page)
    assert page.is_hidden("#request-error")


def test_a_slow_download_is_progress_not_a_stall(page_with, base_url):
    """At 5 Mbit/s pyodide.asm.wasm alone (9.6 MB, not compressed by the test server) takes ~15 s,
    longer than the stall limit here: the bytes arriving keep the boot alive, and it gets ready."""
    page = page_with(bootStallMs=6_000)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    rate = 5e6 / 8
    cdp.send(
        "Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": rate, "uploadThroughput": rate}
    )
    page.goto(base_url, wait_until="commit")
    page.wait_for_selector("html[data-state=ready], html[data-state=error]", state="attached", timeout=120_000)
    assert page.get_attribute("html", "data-state") == "ready", page.text_content("#status-text")
