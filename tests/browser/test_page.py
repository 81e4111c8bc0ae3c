"""The built page in Chromium: readiness, parity with CPython, URL state, languages, embed, custom
configs, the published wheel, and no request leaving localhost."""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from calc import present  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from fetch_wheels import WHEELS, wanted  # noqa: E402
from util import wait_ready, wait_until  # noqa: E402

pytestmark = pytest.mark.browser
GOLDEN = json.loads((Path(__file__).parent / "golden_requests.json").read_text("utf-8"))
OUTPUTS = {
    "total": "total_bytes",
    "weights": "weights_bytes",
    "kv_cache": "kv_cache_bytes",
    "activations": "activations_bytes",
    "overhead": "overhead_bytes",
}


def wait_settled(page) -> None:
    """Wait until the latest estimate has been rendered."""
    page.wait_for_selector("html[data-state=ready]:not([data-busy])", state="attached", timeout=30_000)


def plain(value):
    """What a value looks like after a trip through JSON (as it does between worker and page)."""
    return json.loads(json.dumps(value))


@pytest.fixture(scope="module")
def outside():
    """Every request the browser tried to make to anything but the test server."""
    return []


@pytest.fixture(scope="module")
def context(browser, base_url, outside):
    """One browser context for the module; requests that leave localhost are recorded and aborted."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", service_workers="block")

    def guard(route):
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    ctx.route("**/*", guard)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def app(context, base_url):
    """The English page, loaded once and ready (Pyodide started)."""
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base_url)
    wait_ready(page)
    page.errors = errors
    yield page
    page.close()


@pytest.fixture
def fresh(context):
    page = context.new_page()
    yield page
    page.close()


def shown(page) -> dict[str, str]:
    return {key: page.text_content(f'#result-body [data-out="{key}"]') for key in OUTPUTS}


def expected_shown(result) -> dict[str, str]:
    return {key: present.gib(result["memory"][field]) for key, field in OUTPUTS.items()}


def estimate(page, request) -> dict:
    return page.evaluate("r => window.calcBridge.call('estimate', r)", request)


def test_reaches_ready(app):
    assert app.get_attribute("html", "data-state") == "ready"
    assert (
        app.evaluate("window.calcBridge.versions.pyodide")
        == json.loads((ROOT / "node_modules/pyodide/package.json").read_text())["version"]
    )
    assert app.is_hidden("#request-error")
    assert app.errors == []


def test_prerendered_numbers_equal_live(app, context, base_url, core):
    raw = context.request.get(base_url).text()
    pre = {key: re.search(rf'data-out="{key}"[^>]*>([^<]+)<', raw).group(1) for key in OUTPUTS}
    assert pre == shown(app)
    initial = json.loads(app.text_content("#initial-view"))
    defaults = core({"op": "catalog"})["defaults"]
    live = app.evaluate("r => window.calcBridge.call('view', r)", {k: v for k, v in defaults.items() if k != "op"})
    assert live["ok"] and live["result"]["view"] == initial


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
def test_golden_parity(app, core, case):
    """The worker's answer is exactly CPython's answer for the same request."""
    answer = estimate(app, case["request"])
    expected = plain(core({**case["request"], "op": "estimate"}))
    if expected["ok"]:
        assert answer["ok"] and answer["result"] == expected
    else:
        assert not answer["ok"] and answer["error"] == expected["error"]


def set_controls(page, req) -> None:
    """Put a request into the form, control by control, as a person would."""
    page.select_option("#model", req["model"])
    page.select_option("#engine", req["engine"])
    page.select_option("#quant", req["quant"])
    if "kv_cache" in req:
        page.select_option("#kv", req["kv_cache"])
    page.select_option("#gpu", req["gpu"])
    page.fill("#n", str(req["gpus"]))
    page.fill("#batch", str(req["batch"]))
    page.fill("#ctx", str(req["context"]))


@pytest.mark.parametrize("case", [c for c in GOLDEN if c.get("ui")], ids=[c["name"] for c in GOLDEN if c.get("ui")])
def test_controls_give_core_numbers(app, core, case):
    """Setting the form controls shows the same numbers calc.api.handle gives in CPython."""
    req = case["request"]
    set_controls(app, req)
    wait_settled(app)
    result = core({**req, "op": "estimate", "lang": "en"})
    assert result["ok"], result
    assert shown(app) == expected_shown(result)
    assert app.text_content('[data-out="model-name"]') == result["model"]["name"]
    codes = app.eval_on_selector_all("#warnings li", "els => els.map(e => e.dataset.code)")
    assert codes == [w["code"] for w in result["warnings"]]


def test_slider_sets_context_and_coalesces(app, core):
    app.evaluate("""() => {
        window.sent = 0;
        const call = window.calcBridge.call.bind(window.calcBridge);
        window.calcBridge.call = (type, payload) => { window.sent += 1; return call(type, payload); };
        const slider = document.getElementById('ctx-slider');
        for (let i = 0; i <= 64; i++) {
            slider.value = String(10 + i / 8);
            slider.dispatchEvent(new Event('input', {bubbles: true}));
        }
    }""")
    wait_settled(app)
    assert app.evaluate("window.sent") <= 2
    assert app.input_value("#ctx") == "262144"
    assert "ctx=262144" in app.get_attribute("#open-full", "href")  # links carry the state at once
    wait_until(app, "location.search.includes('ctx=262144')")  # the address once the drag rests


def test_url_round_trip(app, fresh, core):
    case = next(c for c in GOLDEN if c.get("ui"))
    wait_until(app, "location.search === document.getElementById('open-full').getAttribute('href')")
    search = app.evaluate("location.search")
    fresh.goto(app.url)
    wait_ready(fresh)
    assert fresh.evaluate("location.search") == search
    assert shown(fresh) == shown(app)
    for control in ("#model", "#quant", "#kv", "#engine", "#gpu", "#n", "#batch", "#ctx"):
        assert fresh.input_value(control) == app.input_value(control), control
    assert case


def test_shared_link_reproduces_result(fresh, base_url, core):
    case = next(c for c in GOLDEN if c.get("ui"))
    req = case["request"]
    query = (
        f"?model={req['model']}&quant={req['quant']}&ctx={req['context']}&batch={req['batch']}"
        f"&engine={req['engine']}&gpu={req['gpu']}&n={req['gpus']}"
    )
    fresh.goto(base_url + query)
    wait_ready(fresh)
    assert shown(fresh) == expected_shown(core({**req, "op": "estimate", "lang": "en"}))


def test_bad_parameter_falls_back_with_notice(fresh, base_url, core):
    """Each bad link parameter is named under its own control; the defaults stand in for it."""
    fresh.goto(base_url + "?model=no-such-model&ctx=lots&n=2")
    wait_ready(fresh)
    assert "no-such-model" in fresh.inner_text("#err-model") and "lots" in fresh.inner_text("#err-ctx")
    assert fresh.get_attribute("#model", "aria-invalid") == "true" and fresh.is_hidden("#err-n")
    defaults = {k: v for k, v in core({"op": "catalog"})["defaults"].items() if k != "op"}
    result = core({**defaults, "gpus": 2, "op": "estimate", "lang": "en"})
    assert fresh.input_value("#model") == defaults["model"]
    assert shown(fresh) == expected_shown(result)


def test_chinese_page(fresh, base_url, core):
    fresh.goto(base_url + "zh/index.html?ctx=65536")
    wait_ready(fresh)
    assert fresh.get_attribute("html", "lang") == "zh-CN"
    assert "所需显存" in fresh.inner_text("#result-body")
    defaults = {k: v for k, v in core({"op": "catalog"})["defaults"].items() if k != "op"}
    result = core({**defaults, "context": 65536, "op": "estimate", "lang": "zh"})
    assert shown(fresh) == expected_shown(result)
    texts = fresh.eval_on_selector_all("#warnings li", "els => els.map(e => e.textContent)")
    assert texts == [w["text"] for w in result["warnings"]]
    # The language switch keeps the state.
    fresh.click("#lang-switch")
    wait_ready(fresh)
    assert fresh.get_attribute("html", "lang") == "en"
    assert fresh.input_value("#ctx") == "65536"


def test_lang_parameter_redirects(fresh, base_url):
    fresh.goto(base_url + "?lang=zh&ctx=4096")
    fresh.wait_for_url(re.compile(r"/zh/index\.html\?.*ctx=4096"))
    wait_ready(fresh)
    assert fresh.get_attribute("html", "lang") == "zh-CN"


def test_embed_posts_only_its_height(context, base_url):
    page = context.new_page()
    host = (
        "<!doctype html><title>host</title><script>window.got=[];"
        "addEventListener('message', e => window.got.push(e.data));</script>"
        "<iframe src='index.html?embed=1' width='400' height='300'></iframe>"
    )
    page.route(base_url + "host.html", lambda route: route.fulfill(body=host, content_type="text/html"))
    page.goto(base_url + "host.html")
    page.wait_for_function("window.got.length > 0", timeout=30_000)
    messages = page.evaluate("window.got")
    assert all(set(m) == {"type", "height"} and m["type"] == "llm-vram-calc:height" for m in messages)
    assert messages[-1]["height"] > 100
    frame = page.frame_locator("iframe")
    assert frame.locator("#spec").is_hidden() and frame.locator("#result").is_visible()
    page.close()


def custom_config(model_id: str) -> dict:
    models = json.loads((ROOT / "calc/data/models.json").read_text("utf-8"))["models"]
    return next(m for m in models if m["id"] == model_id)["config"]


def test_custom_config(app, core):
    case = next(c for c in GOLDEN if c.get("ui"))
    config = custom_config(case["request"]["model"])
    set_controls(app, case["request"])
    app.select_option("#model", "custom")
    assert app.is_visible("#config")
    # No config yet: no result (the last model's would not belong to the form), and a line saying so.
    assert app.is_hidden("#result-body") and app.is_hidden("#chart")
    assert app.text_content("#result-pending") == "Paste a config.json to see an estimate."
    app.fill("#config", json.dumps(config, indent=2))
    wait_settled(app)
    assert app.is_visible("#result-body") and app.is_hidden("#result-pending")
    req = {k: v for k, v in case["request"].items() if k != "model"}
    result = core({**req, "config": json.dumps(config, indent=2), "op": "estimate", "lang": "en"})
    assert result["ok"], result
    assert shown(app) == expected_shown(result)
    assert app.is_hidden("#config-error")
    # A bad config: the core's message is shown by the textarea; nothing else breaks.
    app.fill("#config", '{"hidden_size": ')
    wait_settled(app)
    error = core({**req, "config": '{"hidden_size": ', "op": "estimate", "lang": "en"})
    assert not error["ok"]
    assert app.is_visible("#config-error")
    assert app.text_content("#config-error") == error["error"]["message"]
    assert app.get_attribute("#config", "aria-invalid") == "true"
    assert app.is_hidden("#result-body") and "config.json has a problem" in app.text_content("#result-pending")
    app.select_option("#model", case["request"]["model"])
    wait_settled(app)
    assert app.is_hidden("#config-error") and app.is_visible("#result-body")


# The model search (web/js/search.js): what is typed, and the model its first row must be.
SEARCHES = [
    ("qwen3 32b", "qwen3-32b"),  # the plain model, not its FP8 checkpoint
    ("Qwen3-32B", "qwen3-32b"),
    ("llama 70b", "llama-3.1-70b"),  # the plain Llama, not the DeepSeek-R1 distill of it
    ("llama3 70b", "llama-3.1-70b"),  # a family alias with a size
    ("llama 3.3", "llama-3.3-70b-instruct"),
    ("gemma3", "gemma-3-12b-it"),  # a family alias: every Gemma 3, in catalog order
    ("gemma-3-27b", "gemma-3-27b-it"),  # the base repo of the instruct tune
    ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b"),  # the instruct repo id of a base model
    ("Qwen/Qwen2.5-Coder-32B-Instruct", "qwen2.5-coder-32b-instruct"),
    ("deepseek llama", "deepseek-r1-distill-llama-70b"),
    ("mistral-7b-instruct-v0.3", "mistral-7b-v0.3"),  # the instruct tune of a base model in the catalog
    ("Mistral-7B-Instruct-v0.2", "mistral-7b-instruct-v0.2"),
]


def search_rows(page) -> list[str]:
    """The models (data-value) of the search popup's rows, in order."""
    return page.eval_on_selector_all("#model-results [role=option]", "rows => rows.map(r => r.dataset.value)")


def close_search(page) -> None:
    """Close the popup and empty the box (Escape twice), as a person leaves the search."""
    page.focus("#model-search")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")


@pytest.mark.parametrize("typed, first", SEARCHES, ids=[typed for typed, _ in SEARCHES])
def test_model_search_ranks_the_plain_model_first(app, typed, first, core):
    app.fill("#model-search", typed)
    rows = search_rows(app)
    assert rows[0] == first, rows[:5]
    assert app.get_attribute("#model-search", "aria-expanded") == "true" and app.is_visible("#model-results")
    total = len(core({"op": "catalog"})["models"])
    assert app.text_content("#model-count") == f"{len(rows)} of {total} models"
    close_search(app)
    assert app.is_hidden("#model-results") and app.input_value("#model-search") == ""
    assert app.text_content("#model-count") == f"{total} of {total} models"


def test_model_search_keyboard_pick(fresh, base_url):
    """ArrowDown and ArrowUp move through the rows (aria-activedescendant), Enter picks into the select."""
    fresh.goto(base_url)
    wait_ready(fresh)
    fresh.focus("#model-search")
    fresh.keyboard.type("qwen3 32b")
    assert search_rows(fresh)[:2] == ["qwen3-32b", "qwen3-32b-fp8"]
    assert fresh.get_attribute("#model-search", "aria-activedescendant") is None
    for key, row in (("ArrowDown", 0), ("ArrowDown", 1), ("ArrowUp", 0), ("ArrowDown", 1)):
        fresh.keyboard.press(key)
        active = fresh.get_attribute("#model-search", "aria-activedescendant")
        assert fresh.get_attribute(f"#{active}", "data-value") == search_rows(fresh)[row], key
        assert fresh.get_attribute(f"#{active}", "aria-selected") == "true"
    fresh.keyboard.press("Enter")
    wait_settled(fresh)
    assert fresh.input_value("#model") == "qwen3-32b-fp8"
    wait_until(fresh, "location.search.includes('model=qwen3-32b-fp8')")
    assert fresh.get_attribute("#model-search", "aria-expanded") == "false" and fresh.is_hidden("#model-results")
    assert fresh.input_value("#model-search") == "Qwen3-32B-FP8"
    assert fresh.evaluate("document.activeElement.id") == "model-search"
    assert fresh.text_content("#spec [data-out=model-name]") == "Qwen3-32B-FP8"
    fresh.select_option("#model", "qwen3-8b")  # chosen in the select itself: the box no longer names a model
    assert fresh.input_value("#model-search") == "" and re.fullmatch(r"(\d+) of \1 models", fresh.text_content("#model-count"))


def test_model_search_escape_closes_then_clears(app):
    app.focus("#model-search")
    app.keyboard.type("gemma")
    app.keyboard.press("ArrowDown")
    assert app.is_visible("#model-results")
    app.keyboard.press("Escape")
    assert app.is_hidden("#model-results") and app.get_attribute("#model-search", "aria-expanded") == "false"
    assert app.get_attribute("#model-search", "aria-activedescendant") is None
    assert app.input_value("#model-search") == "gemma"  # the first Escape only closes
    app.keyboard.press("ArrowDown")  # opens it again
    assert app.is_visible("#model-results") and search_rows(app)[0].startswith("gemma")
    app.keyboard.press("Escape")
    app.keyboard.press("Escape")
    assert app.input_value("#model-search") == ""


def test_model_search_not_listed_picks_custom(fresh, base_url):
    """Nothing matches: one row that, clicked, picks "custom" and puts the cursor in the config box."""
    fresh.goto(base_url)
    wait_ready(fresh)
    fresh.fill("#model-search", "no such model zzz")
    assert search_rows(fresh) == ["custom"]
    assert fresh.text_content("#model-results [role=option]") == "Not listed? Paste its config.json"
    assert fresh.text_content("#model-count").startswith("0 of ")
    fresh.click("#model-results [role=option]")
    assert fresh.input_value("#model") == "custom"
    assert fresh.is_visible("#config-field") and fresh.evaluate("document.activeElement.id") == "config"
    assert fresh.is_hidden("#model-results")
    assert "config.json" in fresh.text_content("#result-pending")


@pytest.mark.parametrize("lang, path", [("en", ""), ("zh", "zh/")])
def test_model_search_fits_a_phone(browser, base_url, lang, path):
    """At 390 px the popup stays inside the viewport and the page does not scroll sideways; a tap picks."""
    not_listed = tomllib.loads((ROOT / f"web/i18n/{lang}.toml").read_text("utf-8"))["form"]["not_listed"]
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, service_workers="block", has_touch=True)
    page = ctx.new_page()
    page.goto(base_url + path)
    page.fill("#model-search", "qwen")
    box = page.locator("#model-results").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    second = search_rows(page)[1]
    page.tap("#model-results [role=option] >> nth=1")  # a touch picks too
    assert page.input_value("#model") == second and page.is_hidden("#model-results")
    page.fill("#model-search", "zzz")
    assert page.text_content("#model-results [role=option]") == not_listed
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ctx.close()


def serve_file(path: Path):
    """A route handler that answers with one local file."""
    return lambda route: route.fulfill(body=path.read_bytes(), content_type="application/zip")


def test_published_wheel_installs_with_micropip(context, base_url, core):
    """A notebook-style Pyodide (no page code) loads micropip, micropip.install()s the published
    wheel by URL, and gets exactly the numbers CPython gets.  The npm package has no micropip, so
    the test serves the wheels tests/browser/fetch_wheels.py downloaded, loading them by URL."""
    info = json.loads(context.request.get(base_url + "build-info.json").text())
    files = wanted()
    request_ = {"model": "gemma-3-27b-it", "quant": "q6_k", "context": 65536, "gpu": "rtx-5090", "gpus": 2}
    urls = ", ".join(f"new URL('./_wheels/{name}', location.href).href" for name in files.values())
    bare = (
        "<!doctype html><title>notebook</title><script type='module'>"
        "import {loadPyodide} from './pyodide/pyodide.mjs';"
        "const py = await loadPyodide({packageBaseUrl: new URL('./pyodide/', location.href).href});"
        f"await py.loadPackage([{urls}]);"
        f"await py.pyimport('micropip').install(new URL('./{info['wheel']}', location.href).href);"
        "window.where = py.pyimport('calc').__file__;"
        f"window.answer = JSON.parse(py.pyimport('calc.api').handle_json(JSON.stringify({json.dumps(request_)})));"
        "</script>"
    )
    page = context.new_page()
    page.route(base_url + "notebook.html", lambda route: route.fulfill(body=bare, content_type="text/html"))
    for name in files.values():
        page.route(base_url + "_wheels/" + name, serve_file(WHEELS / name))
    page.goto(base_url + "notebook.html")
    page.wait_for_function("window.answer !== undefined", timeout=120_000)
    assert "site-packages" in page.evaluate("window.where")
    assert page.evaluate("window.answer") == plain(core(request_))
    page.close()


def test_file_protocol_shows_numbers_and_notice(browser, built_site, core):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto((built_site / "index.html").as_uri())
    page.wait_for_selector("#file-notice", state="visible")
    assert "http.server" in page.text_content("#file-notice")
    assert page.get_attribute("html", "data-state") == "error"
    defaults = {k: v for k, v in core({"op": "catalog"})["defaults"].items() if k != "op"}
    assert shown(page) == expected_shown(core({**defaults, "op": "estimate", "lang": "en"}))
    ctx.close()


def test_startup_failure_is_shown(fresh, base_url):
    """A broken deploy (the calc package and its snapshot missing) ends in data-state=error with a
    visible message."""
    fresh.route("**/calc-*.zip", lambda route: route.fulfill(status=404, body="gone"))
    fresh.route("**/snapshot-*.bin.gz", lambda route: route.fulfill(status=404, body="gone"))
    fresh.goto(base_url)
    fresh.wait_for_selector("html[data-state=error]", state="attached", timeout=120_000)
    assert "could not start" in fresh.text_content("#status-text")
    assert "404" in fresh.text_content("#status-text")
    assert fresh.is_hidden("#progress")
    assert fresh.text_content('#result-body [data-out="total"]').strip()


def test_no_request_left_localhost(app, outside):
    """Runs last in this module: nothing any test did reached beyond the local server."""
    assert outside == []


def text_of(page, selector: str) -> str:
    """The text with all whitespace removed (the two renderers lay out markup differently)."""
    return "".join(page.text_content(selector).split())


def markup_of(page, selector: str) -> str:
    """The element's markup, whitespace between tags dropped."""
    return re.sub(r">\s+<", "><", page.inner_html(selector)).strip()


@pytest.mark.parametrize(
    "page_path",
    ["", "zh/", "models/qwen3-next-80b-a3b-instruct/", "zh/models/deepseek-v3/", "models/llama-3.1-8b/"],
)
def test_prerendered_text_equals_live_render(browser, base_url, page_path):
    """The build-time rendering (Jinja) and the browser's (render.js filling the same slots) say
    exactly the same words, for the result panel and the spec card, in both languages, on the
    calculator and on model pages (whose calculator starts at the model); and after the page has
    shown another model and come back, its markup is the build's, to the attribute."""
    static = browser.new_context(java_script_enabled=False)
    pre = static.new_page()
    pre.goto(base_url + page_path)
    live_ctx = browser.new_context(service_workers="block")
    live = live_ctx.new_page()
    live.goto(base_url + page_path)
    wait_ready(live)
    selectors = ("#result-body", "#spec") if "models/" not in page_path else ("#result-body", ".spec")
    for selector in selectors:
        assert text_of(pre, selector) == text_of(live, selector), selector
    default = live.input_value("#model")
    if "models/" in page_path:
        assert page_path.endswith(f"/{default}/")
    for model in ("gemma-3-27b-it", default):  # other warnings, spec rows and sources; then back
        live.select_option("#model", model)
        wait_settled(live)
    for selector in selectors:
        assert markup_of(pre, selector) == markup_of(live, selector), selector
    static.close()
    live_ctx.close()


def test_bad_typed_value_keeps_the_last_good_result(app):
    before = shown(app)
    app.fill("#batch", "0")
    assert "4,096" in app.inner_text("#err-batch") and app.get_attribute("#batch", "aria-invalid") == "true"
    assert shown(app) == before
    app.fill("#batch", "1")
    wait_settled(app)
    assert app.is_hidden("#err-batch") and app.get_attribute("#batch", "aria-invalid") == "false"


def test_long_link_value_is_quoted_short(fresh, base_url):
    """A 30,000-character link value is named by a short excerpt and cannot widen the page."""
    fresh.goto(base_url + "?model=" + "x" * 30_000)
    wait_ready(fresh)
    text = fresh.inner_text("#err-model")
    assert "x" * 40 + "…" in text and len(text) < 200
    assert fresh.evaluate("document.documentElement.scrollWidth") <= 1280


def test_field_error_clears_when_another_control_fixes_the_request(app):
    """A core error under the context field goes once the batch makes the request valid again."""
    app.fill("#batch", "4096")
    wait_settled(app)
    app.fill("#ctx", "33554432")
    wait_until(app, "!document.getElementById('err-ctx').hidden")
    assert "2^53" in app.inner_text("#err-ctx")
    app.fill("#batch", "1")
    wait_settled(app)
    wait_until(app, "document.getElementById('err-ctx').hidden")
    assert app.get_attribute("#ctx", "aria-invalid") == "false"
    app.fill("#ctx", "32768")
    wait_settled(app)


def test_engine_version_control_and_link(fresh, base_url, core):
    """llama.cpp before PR #19067 kept a V row beside DeepSeek-V3's MLA latent: 4.05 GiB of KV at 32k
    tokens, not 2.14.  Chosen on the page, the release goes into the link, and the link gives it back."""
    fresh.goto(base_url + "?model=deepseek-v3&quant=q2_k&ctx=32768&engine=llama.cpp&kv=f16&gpu=h200&n=2")
    wait_ready(fresh)
    options = fresh.eval_on_selector_all("#ev option", "els => els.map(e => [e.value, e.textContent])")
    assert options[0] == ["", "2026-05 (newest)"] and ["2025-11", "2025-11"] in options
    fresh.select_option("#ev", "2025-11")
    wait_settled(fresh)
    wait_until(fresh, "location.search.includes('ev=2025-11')")
    request = {
        "model": "deepseek-v3",
        "quant": "q2_k",
        "context": 32768,
        "batch": 1,
        "engine": "llama.cpp",
        "kv_cache": "f16",
        "gpu": "h200",
        "gpus": 2,
        "lang": "en",
        "op": "estimate",
    }
    old = core({**request, "engine_version": "2025-11"})
    assert shown(fresh) == expected_shown(old) != expected_shown(core(request))
    fresh.goto(fresh.evaluate("location.href"))
    wait_ready(fresh)
    assert fresh.input_value("#ev") == "2025-11" and shown(fresh) == expected_shown(old)
    fresh.select_option("#engine", "vllm")
    wait_settled(fresh)
    assert fresh.input_value("#ev") == "" and "0.21 (newest)" in fresh.inner_text("#ev")


def test_model_link_leads_to_its_page(fresh, base_url):
    for path, title in (("", "specifications and GPU memory requirements"), ("zh/", "规格与 GPU 显存需求")):
        fresh.goto(base_url + path + "?model=llama-3.1-8b")
        wait_ready(fresh)
        assert fresh.get_attribute("#model-page-link", "href") == "models/llama-3.1-8b/index.html"
        fresh.click("#model-page-link")
        fresh.wait_for_load_state()
        assert fresh.url == f"{base_url}{path}models/llama-3.1-8b/index.html"
        assert title in fresh.title() and "Llama" in fresh.title()
        assert fresh.locator('table[data-table="default"] tr[data-format="q4_k_m"] td').count() >= 3
        wait_ready(fresh)  # the page's own calculator, at this model; its language switch keeps the state
        fresh.select_option("#quant", "q8_0")
        wait_settled(fresh)
        other = fresh.get_attribute("#lang-switch", "href")
        assert other.startswith("../../" + ("zh/" if not path else "../") + "models/llama-3.1-8b/index.html?")
        assert "quant=q8_0" in other


@pytest.mark.parametrize("path", ["models/index.html", "zh/models/index.html"])
def test_models_index_filters_and_sorts(fresh, base_url, path):
    fresh.goto(base_url + path)
    fresh.wait_for_selector("#index-tools:not([hidden])")
    rows = "#model-index tbody tr:not([hidden])"

    def column(key):
        return fresh.eval_on_selector_all(rows, f"rs => rs.map(r => r.dataset.{key})")

    total = fresh.locator("#model-index tbody tr").count()
    assert total >= 60 and str(total) in fresh.text_content("#index-count")
    fresh.click('th[data-key="context"] button')
    contexts = [int(c) for c in column("context")]
    assert contexts == sorted(contexts) and fresh.get_attribute('th[data-key="context"]', "aria-sort") == "ascending"
    fresh.click('th[data-key="context"] button')
    assert [int(c) for c in column("context")] == sorted(contexts, reverse=True)
    fresh.click('th[data-key="q4"] button')
    sizes = [int(c) for c in column("q4")]
    assert sizes == sorted(sizes) and fresh.get_attribute('th[data-key="context"]', "aria-sort") == "none"
    fresh.click('th[data-key="released"] button')  # ISO dates in order, the undated last
    dates = column("released")
    dated = [d for d in dates if d]
    assert dated == sorted(dated) and dates == dated + [""] * (len(dates) - len(dated))
    fresh.fill("#index-filter", "qwen3 moe")
    shown = column("search")
    assert shown and len(shown) < total and all("qwen3" in s and "moe" in s for s in shown)
    assert f"{len(shown)}" in fresh.text_content("#index-count")


@pytest.mark.parametrize("path", ["", "zh/"])
def test_a_link_to_other_settings_never_shows_the_pages_numbers(context, base_url, core, path):
    """Before the calculator has answered, a link to another model shows a placeholder naming it, not
    the pre-rendered numbers of the page's own settings; then the core's numbers for the link."""
    page = context.new_page()
    held = []
    # the calculator waits for its memory snapshot (or, without one, its package)
    for pattern in ("**/snapshot-*.bin.gz", "**/calc-*.zip"):
        page.route(pattern, lambda route: held.append(route))
    page.goto(f"{base_url}{path}?model=llama-3.1-70b&quant=q4_k_m&ctx=8192&gpu=rtx-4090&n=2")
    page.wait_for_selector("#result-pending:not([hidden])", state="visible")
    assert page.is_hidden("#result-body") and page.is_hidden("#chart")
    assert "Llama-3.1-70B" in page.text_content("#result-pending")
    for _ in range(600):  # at most 30 s: the worker asks for one of them
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the worker fetched neither its snapshot nor its package"
    held[0].continue_()
    wait_ready(page)
    assert page.is_visible("#result-body") and page.is_hidden("#result-pending")
    request = {"model": "llama-3.1-70b", "quant": "q4_k_m", "context": 8192, "gpu": "rtx-4090", "gpus": 2}
    result = core({**core({"op": "catalog"})["defaults"], **request, "op": "estimate", "lang": "en"})
    assert shown(page) == expected_shown(result)
    page.close()


def test_vllm_pool_and_the_best_format_in_one_click(fresh, base_url, core):
    """The page shows what the core computes for vLLM (pool in tokens, concurrency) and the best
    format that fits; its button applies it, and the answer then is the core's for that format."""
    request = {"model": "qwen3-32b", "quant": "awq", "context": 8192, "engine": "vllm", "gpu": "h100-sxm", "gpus": 1}
    fresh.goto(f"{base_url}?model=qwen3-32b&quant=awq&ctx=8192&engine=vllm&gpu=h100-sxm&n=1")
    wait_ready(fresh)
    answer = core({**core({"op": "catalog"})["defaults"], **request, "op": "estimate", "lang": "en"})
    pool = fresh.text_content('[data-out="kv-pool"]')
    assert pool.startswith(f"{answer['kv_capacity_tokens']:,} tokens: {answer['max_concurrency']:,.2f} sequences")
    assert fresh.is_visible('[data-out="kv-pool"]')
    assert fresh.text_content('[data-out="best-format"]') == "Native (as released)"
    fresh.click("#apply-format")
    wait_settled(fresh)
    assert fresh.input_value("#quant") == answer["best_format"] == "native"
    wait_until(fresh, "location.search.includes('quant=native')")  # the address follows once it rests
    assert fresh.is_hidden("#apply-format")  # the chosen format is the best one now
    fresh.select_option("#engine", "llama.cpp")
    wait_settled(fresh)
    assert fresh.is_hidden('[data-out="kv-pool"]')


def test_a_recommendation_goes_into_the_form_in_one_click(fresh, base_url):
    fresh.goto(base_url + "?model=llama-3.1-70b&quant=q4_k_m&ctx=8192&gpu=rtx-4090&n=1")
    wait_ready(fresh)
    second = fresh.locator("#recs li").nth(1)
    gpu, count = second.get_attribute("data-gpu"), second.get_attribute("data-count")
    second.locator("button.rec-name").click()
    wait_settled(fresh)
    assert (fresh.input_value("#gpu"), fresh.input_value("#n")) == (gpu, count)
    assert "fit-yes" in fresh.get_attribute('[data-out="fit"]', "class")
    # a model page's smallest setups do the same for its calculator
    fresh.goto(base_url + "models/llama-3.1-8b/index.html")
    wait_ready(fresh)
    setup = fresh.locator(".model-page ol.recs li").nth(2)
    setup.locator("button.rec-name").click()
    wait_settled(fresh)
    assert fresh.input_value("#gpu") == setup.get_attribute("data-gpu")


def test_controls_offer_what_the_engine_loads(fresh, base_url, core):
    """Formats and KV types the chosen engine does not load are disabled, by the build and after an
    engine change alike; formats come grouped (native, GPU formats, GGUF)."""
    catalog = core({"op": "catalog"})
    fresh.goto(base_url)
    wait_ready(fresh)

    def disabled(select):
        return set(fresh.eval_on_selector_all(f"#{select} option", "os => os.filter(o => o.disabled).map(o => o.value)"))

    for engine in ("llama.cpp", "vllm", "transformers"):
        fresh.select_option("#engine", engine)
        wait_settled(fresh)
        chosen = fresh.input_value("#quant")
        assert disabled("quant") == {f["id"] for f in catalog["formats"] if engine not in f["engines"]} - {chosen}, engine
        assert disabled("kv") == {k["id"] for k in catalog["kv_types"] if engine not in k["engines"]}, engine
    groups = fresh.eval_on_selector_all("#quant optgroup", "gs => gs.map(g => g.querySelector('option').value)")
    assert groups == ["native", "fp32", "f16"]


@pytest.mark.parametrize(
    ("typed", "tokens"),
    [("128k", 131072), ("1M", 1048576), ("32,768", 32768), ("32768", 32768), ("1.5k", 1536), (" 64K ", 65536)],
)
def test_context_box_reads_what_people_type(fresh, base_url, typed, tokens):
    """The context box takes suffixes and separators; the address and the slider follow."""
    fresh.goto(base_url + "?model=llama-3.1-8b&ctx=8192")
    wait_ready(fresh)
    fresh.fill("#ctx", typed)
    wait_until(fresh, f"location.search.includes('ctx={tokens}')")
    assert fresh.input_value("#ctx") == typed  # not rewritten while it has focus
    fresh.locator("#ctx").blur()
    assert fresh.input_value("#ctx") == str(tokens)


def test_context_box_waits_for_a_whole_entry(fresh, base_url):
    """'1.5' is not a token count: nothing is sent, the box keeps the text, and leaving it says why."""
    fresh.goto(base_url + "?model=llama-3.1-8b&ctx=8192")
    wait_ready(fresh)
    fresh.fill("#ctx", "1.5")
    fresh.wait_for_timeout(400)
    assert fresh.input_value("#ctx") == "1.5"
    assert "ctx=8192" in fresh.evaluate("location.search")
    fresh.locator("#ctx").blur()
    assert "128k" in fresh.inner_text("#err-ctx")


def test_a_mistyped_context_stays_beside_its_error(fresh, base_url):
    """'12x' left in the box keeps its text and its error when another setting changes the result
    (it was rewritten to the last good 12 with the error still beside it); the slider then replaces
    both."""
    fresh.goto(base_url + "?model=llama-3.1-8b&ctx=8192")
    wait_ready(fresh)
    fresh.fill("#ctx", "12x")
    fresh.locator("#ctx").blur()
    assert "128k" in fresh.inner_text("#err-ctx")
    fresh.fill("#n", "2")
    wait_until(fresh, "location.search.includes('n=2')")
    wait_settled(fresh)
    assert fresh.input_value("#ctx") == "12x" and fresh.locator("#err-ctx").is_visible()
    fresh.evaluate("""() => { const s = document.getElementById('ctx-slider'); s.value = '14';
        s.dispatchEvent(new Event('input', {bubbles: true})); }""")
    assert fresh.input_value("#ctx") == "16384" and not fresh.locator("#err-ctx").is_visible()
    assert fresh.get_attribute("#ctx", "aria-invalid") != "true"


def test_slider_lands_on_powers_of_two_and_marks_the_window(fresh, base_url):
    """Each slider step is a power of two (its 128k mark is 131,072 tokens); the model's trained window
    is marked, and the hint says the same window as the answer (Qwen3-32B: 32,768, not 40,960)."""
    fresh.goto(base_url + "?model=qwen3-32b&ctx=8192")
    wait_ready(fresh)
    fresh.evaluate("""() => { const s = document.getElementById('ctx-slider'); s.value = '17';
        s.dispatchEvent(new Event('input', {bubbles: true})); }""")
    assert fresh.input_value("#ctx") == "131072"
    assert fresh.get_attribute("#ctx-slider", "step") == "1"
    mark = fresh.locator("#ctx-window")
    assert mark.is_visible() and "32k" in mark.inner_text()
    assert "32,768" in fresh.inner_text("#ctx-max")
    wait_until(fresh, "document.querySelector('#warnings [data-code=context_exceeds_native]') !== null")
    assert "32k" in fresh.inner_text("#warnings [data-code=context_exceeds_native]")
    box = fresh.locator("#ctx-slider").bounding_box()
    left = mark.bounding_box()["x"] + mark.bounding_box()["width"] / 2
    assert box["x"] + 8 + (box["width"] - 16) * (15 - 10) / 8 == pytest.approx(left, abs=3)  # log2(32768) = 15


def test_engine_settings_reach_the_core(fresh, base_url, core):
    """vLLM's --gpu-memory-utilization and --max-num-seqs from the engine-settings disclosure go into the
    request and the link; the KV pool shown is the core's for them."""
    fresh.goto(base_url + "?model=qwen3-32b&quant=fp8&ctx=8192&engine=vllm&gpu=h100-sxm&n=1")
    wait_ready(fresh)
    assert fresh.locator("#fa").is_hidden() and fresh.locator("#ub").is_hidden()  # llama.cpp's
    fresh.click("#engine-settings > summary")
    fresh.fill("#gmu", "0.8")
    fresh.fill("#mns", "64")
    wait_until(fresh, "location.search.includes('gmu=0.8') && location.search.includes('mns=64')")
    wait_settled(fresh)
    want = core(
        {
            "op": "view",
            "model": "qwen3-32b",
            "quant": "fp8",
            "context": 8192,
            "batch": 1,
            "engine": "vllm",
            "gpu": "h100-sxm",
            "gpus": 1,
            "lang": "en",
            "gpu_memory_utilization": 0.8,
            "max_num_seqs": 64,
        }
    )["view"]["text"]["kv-pool"]
    assert want and fresh.inner_text('[data-out="kv-pool"]') == want
    fresh.fill("#gmu", "1.5")  # out of range: the core names the field
    wait_until(fresh, "!document.getElementById('err-gmu').hidden")


def test_swa_full_setting_reaches_the_core_and_the_link(fresh, base_url, core):
    """llama.cpp's --swa-full from the engine settings: the request carries swa_full, the link swa=1,
    and the KV cache shown is the core's for it (Gemma 3 12B: every layer holds the whole context)."""
    fresh.goto(base_url + "?model=gemma-3-12b-it&quant=q4_k_m&ctx=32768&engine=llama.cpp&gpu=rtx-4090&n=1")
    wait_ready(fresh)
    fresh.click("#engine-settings > summary")
    assert fresh.locator("#swa").is_visible() and fresh.locator("#gmu").is_hidden()
    fresh.select_option("#swa", "1")
    wait_until(fresh, "location.search.includes('swa=1')")
    wait_settled(fresh)
    request = {"op": "view", "model": "gemma-3-12b-it", "quant": "q4_k_m", "context": 32768, "batch": 1}
    request |= {"engine": "llama.cpp", "gpu": "rtx-4090", "gpus": 1, "lang": "en"}
    want, without = (core({**request, "swa_full": on})["view"]["text"]["kv_cache"] for on in (True, False))
    assert want != without and fresh.text_content('#result-body [data-out="kv_cache"]') == want


def test_transformers_prompt_tokens_reach_the_core(fresh, base_url, core):
    """transformers' "Prompt tokens" (issue 15): the rest of the context is generated; the request and
    the link carry it, and the activations shown are the core's for that split."""
    fresh.goto(base_url + "?model=llama-3.1-8b&quant=bf16&ctx=32768&engine=transformers&gpu=h100-sxm&n=1")
    wait_ready(fresh)
    fresh.click("#engine-settings > summary")
    assert fresh.locator("#pt").is_visible() and fresh.locator("#mns").is_hidden()
    fresh.fill("#pt", "1")
    wait_until(fresh, "location.search.includes('pt=1')")
    wait_settled(fresh)
    request = {"op": "view", "model": "llama-3.1-8b", "quant": "bf16", "context": 32768, "batch": 1, "engine": "transformers"}
    want = core({**request, "gpu": "h100-sxm", "gpus": 1, "lang": "en", "prompt_tokens": 1})["view"]["text"]["activations"]
    whole = core({**request, "gpu": "h100-sxm", "gpus": 1, "lang": "en"})["view"]["text"]["activations"]
    assert want != whole and fresh.inner_text('[data-out="activations"]') == want
    fresh.fill("#pt", "40000")  # more than the context: the core names the field
    wait_until(fresh, "!document.getElementById('err-pt').hidden")


def test_switching_engine_keeps_a_loadable_format_and_exl2_has_its_bits(fresh, base_url, core):
    fresh.goto(base_url + "?model=llama-3.1-8b&quant=q4_k_m&engine=llama.cpp")
    wait_ready(fresh)
    fresh.select_option("#engine", "vllm")
    assert fresh.input_value("#quant") == "native"  # vLLM does not load Q4_K_M: the checkpoint
    fresh.select_option("#engine", "llama.cpp")
    assert fresh.input_value("#quant") == "native"  # llama.cpp loads it (as GGUF BF16): kept
    fresh.goto(base_url + "?model=llama-3.1-8b&quant=exl2&bpw=5.5&engine=transformers")
    wait_ready(fresh)
    assert fresh.locator("#bpw").is_visible() and fresh.input_value("#bpw") == "5.5"
    wait_settled(fresh)
    request = {
        "op": "view",
        "model": "llama-3.1-8b",
        "quant": "exl2",
        "context": 32768,
        "engine": "transformers",
        "gpu": "h100-sxm",
        "gpus": 4,
        "lang": "en",
    }
    shown = fresh.inner_text('[data-out="bpw"]')
    assert shown == core({**request, "bpw": 5.5})["view"]["text"]["bpw"] != core(request)["view"]["text"]["bpw"]


def test_chart_reaches_the_window_with_marks_focus_and_table(fresh, base_url, core):
    """Llama 4 Scout's 10M window: the x axis ends at the window's mark on the last point, both marks
    are labelled, focusing a point shows its value, and the data table has every curve point."""
    req = {"model": "llama-4-scout-17b-16e-instruct", "quant": "q4_k_m", "engine": "llama.cpp", "gpu": "h100-sxm"}
    fresh.goto(base_url + "?model={model}&quant={quant}&engine={engine}&gpu={gpu}&n=8&ctx=32768&batch=1".format(**req))
    wait_ready(fresh)
    chart = core({**req, "gpus": 8, "context": 32768, "batch": 1, "op": "view", "lang": "en"})["view"]["chart"]
    assert chart["x_max"] == 10485760
    pts = fresh.eval_on_selector_all(
        "#chart .pt", "els => els.map(e => [Number(e.dataset.context), Number(e.querySelector('circle').getAttribute('cx'))])"
    )
    assert [p[0] for p in pts] == [p[0] for p in chart["points"]] and pts[-1][0] == 10485760
    window_x = float(fresh.get_attribute("#chart .mark-window line", "x1"))
    assert abs(window_x - pts[-1][1]) < 0.2  # the window is the axis' end, on the last point
    labels = {m["kind"]: m["label"] for m in chart["marks"]}
    assert fresh.text_content("#chart .mark-window .mark-label") == labels["window"] == "Model window 10M"
    assert fresh.text_content("#chart .mark-fit .mark-label") == labels["fit"]
    point = fresh.locator("#chart .pt").last
    assert not point.locator(".tip").is_visible()
    point.focus()
    assert point.locator(".tip").is_visible() and point.locator(".tip").text_content() == chart["tips"][-1][0]
    assert point.get_attribute("aria-label") == chart["tips"][-1][1]
    fresh.keyboard.press("Shift+Tab")  # the previous point, by keyboard
    assert fresh.locator("#chart .pt").nth(len(pts) - 2).locator(".tip").is_visible()
    assert not fresh.is_visible("#chart-table table")
    fresh.click("#chart-data summary")
    rows = fresh.eval_on_selector_all("#chart-table tbody tr", "trs => trs.map(tr => [...tr.cells].map(c => c.textContent))")
    assert rows == chart["table"]["rows"] and len(rows) == len(chart["points"])
    assert fresh.eval_on_selector_all("#chart-table thead th", "ths => ths.map(t => t.textContent)") == chart["table"]["head"]


def test_summary_line_says_what_the_number_is_for_and_is_announced(fresh, base_url, core):
    """One line above the headline names the model, format, context, sequences, engine and GPUs; the
    summary, headline and verdict are one polite live region whose text follows each new answer."""
    fresh.goto(f"{base_url}?model=llama-3.1-8b&quant=q4_k_m&ctx=8192&gpu=rtx-4090&n=1")
    wait_ready(fresh)
    region = fresh.locator("#answer")
    assert region.get_attribute("aria-live") == "polite" and region.get_attribute("aria-atomic") == "true"
    request = {**core({"op": "catalog"})["defaults"], "model": "llama-3.1-8b", "quant": "q4_k_m", "context": 8192}
    request |= {"gpu": "rtx-4090", "gpus": 1, "lang": "en"}
    view = core({**request, "op": "view"})["view"]
    assert fresh.text_content('[data-out="summary"]') == view["text"]["summary"]
    assert view["text"]["summary"].startswith("Llama-3.1-8B · Q4_K_M · 8,192 tokens · 1 sequence · llama.cpp · 1 × ")
    fresh.fill("#batch", "4")
    wait_until(fresh, "document.querySelector('[data-out=summary]').textContent.includes('4 sequences')")
    wait_settled(fresh)
    four = core({**request, "batch": 4, "op": "view"})["view"]
    assert (
        region.text_content().split()
        == " ".join([four["text"]["summary"], "VRAM required", four["text"]["total"], "GiB", four["text"]["fit"]]).split()
    )


def test_format_list_shows_each_size_for_this_model(fresh, base_url, core):
    fresh.goto(f"{base_url}?model=llama-3.1-8b&quant=q4_k_m&ctx=8192&engine=vllm&gpu=h100-sxm&n=1")
    wait_ready(fresh)
    request = {**core({"op": "catalog"})["defaults"], "model": "llama-3.1-8b", "quant": "native", "context": 8192}
    view = core({**request, "engine": "vllm", "gpu": "h100-sxm", "gpus": 1, "lang": "en", "op": "view"})["view"]
    texts = fresh.eval_on_selector_all("#quant option", "os => Object.fromEntries(os.map(o => [o.value, o.textContent]))")
    assert texts == view["formats"]
    assert texts["awq"].startswith("AWQ 4-bit · ") and texts["q4_k_m"] == "Q4_K_M: not loaded by vLLM"


def test_copy_link_carries_a_pasted_config_in_the_fragment(context, fresh, base_url, core):
    """A pasted config.json goes into the link after #config= (never to a server); the copied link
    opens the same custom estimate."""
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url.rstrip("/"))
    config = json.dumps(custom_config("qwen3-8b"), indent=2)
    fresh.goto(f"{base_url}?quant=q8_0&ctx=4096")
    wait_ready(fresh)
    fresh.select_option("#model", "custom")
    fresh.fill("#config", config)
    wait_settled(fresh)
    wait_until(fresh, "location.hash.startsWith('#config=') && location.search.includes('model=custom')")
    fresh.click("#copy-link")
    wait_until(fresh, "document.getElementById('share-status').textContent === 'Copied.'")
    link = fresh.evaluate("navigator.clipboard.readText()")
    assert "#config=" in link and len(link) < len(config)
    other = context.new_page()
    other.goto(link)
    wait_ready(other)
    assert other.input_value("#model") == "custom" and other.input_value("#config") == config
    defaults = {k: v for k, v in core({"op": "catalog"})["defaults"].items() if k != "model"}
    request = {**defaults, "quant": "q8_0", "context": 4096, "config": config}
    assert shown(other) == expected_shown(core({**request, "op": "estimate", "lang": "en"}))
    other.close()


def test_embed_widget_is_compact_and_gives_its_code(context, fresh, base_url):
    """?embed=1: no accuracy section, no recommendation list; the embed box holds an iframe of the
    calculator with the current settings, and copies it."""
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url.rstrip("/"))
    fresh.goto(f"{base_url}?embed=1&model=llama-3.1-8b&quant=q4_k_m&ctx=8192&gpu=rtx-4090&n=1")
    wait_ready(fresh)
    assert fresh.is_hidden("#accuracy") and fresh.is_hidden("#recs-panel") and fresh.is_visible("#result")
    fresh.click("#embed-box summary")
    wait_until(fresh, "document.getElementById('embed-code').value.length > 0")  # filled on the toggle event
    code = fresh.input_value("#embed-code")
    src = re.search(r'<iframe id="llm-vram" src="([^"]+)"', code).group(1).replace("&amp;", "&")
    assert src.startswith(base_url + "?") and "embed=1" in src and "model=llama-3.1-8b" in src and "ctx=8192" in src
    assert 'e.data.type === "llm-vram-calc:height"' in code
    fresh.click("#copy-embed")
    wait_until(fresh, "document.getElementById('share-status').textContent === 'Copied.'")
    assert fresh.evaluate("navigator.clipboard.readText()") == code


@pytest.mark.parametrize("path", ["", "zh/"])
def test_no_horizontal_overflow_from_320_to_1920_px(fresh, base_url, path):
    """Nothing wider than the window at any common width, in either language."""
    fresh.set_viewport_size({"width": 320, "height": 800})
    fresh.goto(f"{base_url}{path}?model=qwen3-coder-480b-a35b&engine=vllm&quant=native&gpu=rtx-pro-6000-blackwell&n=3")
    wait_ready(fresh)
    for width in (320, 360, 390, 414, 768, 1024, 1280, 1920):
        fresh.set_viewport_size({"width": width, "height": 800})
        fresh.wait_for_timeout(100)
        wide = fresh.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert wide <= 0, f"{width} px: {wide} px too wide"


def test_a_local_gguf_file_is_read_in_the_page_and_estimated(fresh, base_url, core, tmp_path):
    """model=gguf-file in a link asks for the file again; the file chosen is read with File.slice,
    more than the first MiB while the core asks for more, never sent anywhere; the total shown is
    calc.api.handle's for the same header."""
    import base64

    sys.path.insert(0, str(ROOT / "tests"))
    from gguf_files import LLAMA_META, LLAMA_TENSORS, write

    # a vocabulary of 200,000 tokens: a header of about 2.6 MB, past the first read
    meta = {**LLAMA_META, "tokenizer.ggml.tokens": [f"token{i:06d}" for i in range(200_000)]}
    data = write(meta, LLAMA_TENSORS)
    path = tmp_path / "tiny-llama-Q4_K_M.gguf"
    path.write_bytes(data)
    sent = []
    fresh.on("request", lambda r: sent.append((r.method, r.url, len(r.post_data_buffer or b""))))
    fresh.goto(base_url + "?model=gguf-file&quant=gguf_file")
    wait_ready(fresh)
    assert fresh.is_visible("#gguf") and "never uploaded" in fresh.text_content("#gguf-help")
    assert fresh.text_content("#result-pending") == "Choose a GGUF file to see an estimate."
    assert fresh.is_hidden("#result-body")
    fresh.set_input_files("#gguf", str(path))
    fresh.wait_for_selector("#result-body", state="visible", timeout=60_000)
    wait_settled(fresh)
    result = core({"gguf": base64.b64encode(data).decode(), "gguf_name": path.name, "op": "estimate", "lang": "en"})
    assert result["ok"], result
    assert shown(fresh) == expected_shown(result)
    assert fresh.input_value("#quant") == "gguf_file" and "model=gguf-file" in fresh.url
    assert fresh.is_hidden("#gguf-error")
    assert all(method == "GET" and size == 0 for method, _, size in sent), sent  # nothing uploaded
    # a catalog model again: the format goes back to one it has, and gguf_file is hidden
    fresh.select_option("#model", "llama-3.1-8b")
    wait_settled(fresh)
    assert fresh.input_value("#quant") != "gguf_file"
    assert fresh.is_hidden("#gguf-field")
    # a file that is not a GGUF: the core's words under the file input
    bad = tmp_path / "notes.gguf"
    bad.write_bytes(b"GGML" + bytes(100))
    fresh.select_option("#model", "gguf-file")
    fresh.set_input_files("#gguf", str(bad))
    wait_until(fresh, "() => !document.getElementById('gguf-error').hidden")
    assert "does not start with 'GGUF'" in fresh.text_content("#gguf-error")
    # a split model: both parts chosen at once, read in name order, give the whole file's answer
    parts = []
    for i, (meta_i, tensors) in enumerate(((meta, LLAMA_TENSORS[:9]), ({}, LLAMA_TENSORS[9:])), 1):
        keys = {"split.no": i - 1, "split.count": 2, "split.tensors.count": len(LLAMA_TENSORS)}
        parts.append(tmp_path / f"tiny-{i:05d}-of-00002.gguf")
        parts[-1].write_bytes(write({**meta_i, **keys}, tensors))
    fresh.set_input_files("#gguf", [str(p) for p in reversed(parts)])
    wait_until(fresh, "() => document.getElementById('result').textContent.includes('tiny-00001-of-00002.gguf')")
    wait_settled(fresh)
    assert fresh.is_hidden("#gguf-error")
    split = core({"gguf": [base64.b64encode(p.read_bytes()).decode() for p in parts], "op": "estimate", "lang": "en"})
    assert split["ok"] and shown(fresh) == expected_shown(split) == expected_shown(result)
