"""Nothing runs that was not shipped: hostile text from a pasted config or a link is shown as text,
the Content-Security-Policy holds with nothing violating it, and the embed widget works inside a
page of another origin, telling it only its height."""

from __future__ import annotations

import http.server
import json
import threading

import pytest
from util import wait_ready, wait_until

pytestmark = pytest.mark.browser

MARKUP = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


@pytest.fixture
def guarded(browser, base_url):
    """A page that records CSP violations and requests leaving the test server."""
    ctx = browser.new_context(service_workers="block")
    outside = []
    ctx.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(base_url) else (outside.append(route.request.url), route.abort())
        ),
    )
    page = ctx.new_page()
    page.add_init_script(
        "window.__violations = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.outside = outside
    yield page
    ctx.close()


def test_config_markup_is_shown_as_text(guarded, base_url):
    page = guarded
    page.goto(base_url)
    wait_ready(page)
    config = {
        "_name_or_path": MARKUP,
        "model_type": "llama",
        "hidden_size": 1024,
        "num_hidden_layers": 4,
        "num_attention_heads": 8,
        "vocab_size": 1000,
        "intermediate_size": 2048,
        "hidden_act": MARKUP,
    }
    page.select_option("#model", "custom")
    page.fill("#config", json.dumps(config))
    wait_until(page, "document.querySelector('[data-out=model-name]').textContent.includes('<img')")
    wait_ready(page)
    assert page.evaluate("window.__pwned") is None
    assert MARKUP in page.text_content("#spec")
    assert page.eval_on_selector_all("#spec img, #spec script, #result-body img", "els => els.length") == 0
    assert page.evaluate("window.__violations") == []


def test_link_parameters_are_shown_as_text(guarded, base_url):
    page = guarded
    page.goto(base_url + "?model=" + MARKUP + "&quant=%22%3E%3Csvg%20onload%3Dwindow.__pwned%3D3%3E&lang=%3Cb%3Ex")
    wait_ready(page)
    assert page.evaluate("window.__pwned") is None
    assert "<img" in page.inner_text("#err-model") and "<svg" in page.inner_text("#err-quant")
    assert page.eval_on_selector_all("main img, main svg[onload], #notices b", "els => els.length") == 0


def test_policy_is_strict_and_nothing_violates_it(guarded, base_url):
    page = guarded
    response = page.goto(base_url)
    wait_ready(page)
    csp = page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
    assert "default-src 'self'" in csp and "script-src 'self' 'wasm-unsafe-eval'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval'" not in csp.replace("wasm-unsafe-eval'", "")
    assert "base-uri 'none'" in csp and "form-action 'none'" in csp
    page.fill("#ctx", "65536")
    page.select_option("#engine", "vllm")
    wait_ready(page)
    assert page.evaluate("window.__violations") == []
    assert page.outside == []
    assert response.ok


class _Host(http.server.BaseHTTPRequestHandler):
    """Another origin (its own port) whose page embeds the widget and records what it is told."""

    widget = ""

    def do_GET(self):
        body = (
            f'<!doctype html><title>host</title><iframe id="w" src="{self.widget}" width="400" height="300"></iframe>'
            '<script>window.got = []; addEventListener("message", e => got.push({origin: e.origin, data: e.data}));'
            "</script>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_embed_inside_another_origin(browser, base_url):
    widget = base_url + "?embed=1&model=llama-3.1-8b&quant=q8_0&ctx=8192"
    host = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Host", (_Host,), {"widget": widget}))
    threading.Thread(target=host.serve_forever, daemon=True).start()
    ctx = browser.new_context(service_workers="block")
    page = ctx.new_page()
    page.goto(f"http://127.0.0.1:{host.server_address[1]}/")
    frame = page.frame_locator("#w")
    frame.locator("html[data-state=ready]").wait_for(state="attached", timeout=120_000)
    assert "8,192" in frame.locator("#ctx").input_value() or frame.locator("#ctx").input_value() == "8192"
    page.wait_for_function("window.got.length > 0", timeout=30_000)
    messages = page.evaluate("window.got")
    origin = base_url.rstrip("/")
    assert all(m["origin"] == origin for m in messages)
    assert all(
        set(m["data"]) == {"type", "height"}
        and m["data"]["type"] == "llm-vram-calc:height"
        and isinstance(m["data"]["height"], int)
        and m["data"]["height"] > 0
        for m in messages
    )
    ctx.close()
    host.shutdown()
