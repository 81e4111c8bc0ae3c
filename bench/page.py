"""The page in headless Chromium: first paint with numbers, time to interactive against a bare
Pyodide boot, input latency, bytes on the wire, and core throughput inside Pyodide.

Used by ``python -m bench`` (bench/__main__.py); every figure is a median over --runs fresh browser
contexts (cold) or reloads in the same context (warm, HTTP cache primed), on the build served with
the same cache headers as ``python build.py --serve``.
"""

from __future__ import annotations

import gzip
import json
import statistics
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# The model page timed beside the calculator (an MoE with the longest tables).
MODEL_PAGE = "models/qwen3-coder-480b-a35b-instruct/index.html"

# A page that does nothing but boot the same Pyodide core from the same server: the baseline of
# time to interactive.  It is served by the benchmark only, never built into dist/.
BARE = (
    "<!doctype html><meta charset=utf-8><title>bare Pyodide</title><script type=module>"
    "import {loadPyodide} from './pyodide/pyodide.mjs';"
    "const py = await loadPyodide({indexURL: new URL('./pyodide/', location.href).href});"
    "py.runPython('1');"
    "performance.mark('bare:ready'); document.documentElement.dataset.state = 'ready';"
    "</script>"
)

# The same boot inside a module worker, as the page runs it: Chromium keeps no compiled-code cache
# for a worker's WebAssembly, so its repeat visits gain less than the main thread's.
BARE_WORKER_JS = (
    "import {loadPyodide} from './pyodide/pyodide.mjs';"
    "const py = await loadPyodide({indexURL: new URL('./pyodide/', self.location.href).href});"
    "py.runPython('1'); postMessage('ready');"
)
BARE_WORKER = (
    "<!doctype html><meta charset=utf-8><title>bare Pyodide in a worker</title><script type=module>"
    "const w = new Worker('./bare-worker.js', {type: 'module'});"
    "w.onmessage = () => { performance.mark('bare:ready'); document.documentElement.dataset.state = 'ready'; };"
    "</script>"
)

# Core throughput inside Pyodide: the same request mix as bench/core.py, run in a page that boots
# Pyodide and unpacks the calc archive the way the worker does.
THROUGHPUT = (
    "<!doctype html><meta charset=utf-8><title>throughput</title><script type=module>"
    "import {loadPyodide} from './pyodide/pyodide.mjs';"
    "const py = await loadPyodide({indexURL: new URL('./pyodide/', location.href).href});"
    "const zip = await (await fetch('./%(zip)s')).arrayBuffer(); py.unpackArchive(zip, 'zip');"
    "const api = py.pyimport('calc.api'); const mix = %(mix)s;"
    "for (const r of mix) api.handle_json(JSON.stringify(r));"  # warm, as in bench/core.py
    "const t0 = performance.now(); for (const r of mix) api.handle_json(JSON.stringify(r));"
    "window.rate = mix.length / ((performance.now() - t0) / 1000);"
    "</script>"
)


def median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 2)


def serve(folder: Path):
    """The built site on a free localhost port, with the dev server's production cache headers."""
    from devserver import make_server

    server = make_server(folder, 0, cache=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def _load_metrics(page, element: str = "vram") -> dict:
    """Milliseconds from navigation start: the element with elementtiming=`element` painted (the
    calculator's headline figure; a model page's summary of its numbers), and the calculator ready."""
    page.wait_for_selector("html[data-state=ready]:not([data-busy])", state="attached", timeout=120_000)
    return page.evaluate(
        """(element) => {
        const vram = performance.getEntriesByType('element').find(e => e.identifier === element);
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        const ready = performance.getEntriesByName('calc:ready')[0];
        return {first_paint_numbers_ms: vram ? vram.renderTime || vram.loadTime : (fcp ? fcp.startTime : null),
                tti_ms: ready ? ready.startTime : null};
    }""",
        element,
    )


def _observe_elements(page) -> None:
    """Keep element-timing entries (they are only buffered for observers registered early)."""
    page.add_init_script("""
        new PerformanceObserver(list => {}).observe({type: 'element', buffered: true});
    """)


def _bare_ms(page, url: str) -> float:
    page.goto(url)
    page.wait_for_selector("html[data-state=ready]", state="attached", timeout=120_000)
    return page.evaluate("performance.getEntriesByName('bare:ready')[0].startTime")


def _fulfil(body: str, kind: str):
    """A route handler answering with `body` (playwright passes the request too to handlers taking two arguments)."""
    return lambda route: route.fulfill(body=body, content_type=kind)


def _bare_pair(browser, base: str, routes: dict) -> tuple[float, float]:
    """A bare boot's milliseconds, cold then warm, in a fresh context serving `routes` {name: (body, type)}."""
    ctx = browser.new_context()
    for name, (body, kind) in routes.items():
        ctx.route(base + name, _fulfil(body, kind))
    page = ctx.new_page()
    url = base + next(iter(routes))
    cold, warm = _bare_ms(page, url), _bare_ms(page, url)
    ctx.close()
    return cold, warm


def _bytes(responses: list) -> dict:
    """Transferred bytes of one cold load, split into the Pyodide core, the memory snapshot (already
    gzip) and the project's own assets."""
    split = {name: {"raw": 0, "gzip": 0, "files": 0} for name in ("pyodide", "snapshot", "own")}
    for url, body in responses:
        part = split["pyodide" if "/pyodide/" in url else "snapshot" if "/snapshot-" in url else "own"]
        part["raw"] += len(body)
        part["gzip"] += len(gzip.compress(body, 9))
        part["files"] += 1
    return split


def _latency(page, control: str, values: list[str]) -> list[float]:
    """Milliseconds from an input event on `control` until the DOM shows the new result (app.js
    clears data-busy right after rendering it), one value at a time."""
    return page.evaluate(
        """async ([control, values]) => {
        const el = document.getElementById(control);
        const html = document.documentElement;
        const out = [];
        for (const value of values) {
            const painted = new Promise(resolve => {
                const mo = new MutationObserver(() => {
                    if (!html.dataset.busy) { mo.disconnect(); resolve(performance.now()); }
                });
                mo.observe(html, {attributes: true, attributeFilter: ['data-busy']});
            });
            el.value = value;
            const t0 = performance.now();
            el.dispatchEvent(new Event(el.tagName === 'SELECT' ? 'change' : 'input', {bubbles: true}));
            out.push((await painted) - t0);
        }
        return out;
    }""",
        [control, values],
    )


# First visits at these link speeds (Mbit/s; None: localhost as it is), with Chromium's network
# emulation (CDP Network.emulateNetworkConditions, no added latency).
LINKS = (None, 50, 20, 10)


def _throttle(ctx, page, mbit: float | None) -> None:
    if mbit is None:
        return
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    rate = mbit * 1e6 / 8
    cdp.send(
        "Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": rate, "uploadThroughput": rate}
    )


def _count_bytes(page) -> list:
    """Bytes on the wire of every request that finished (headers and body as sent, compressed or not)."""
    sink = []

    def done(request):
        try:
            sizes = request.sizes()
            sink.append(sizes["responseBodySize"] + sizes["responseHeadersSize"])
        except Exception:  # noqa: BLE001 - a request the page dropped (the snapshot, on a slow link)
            pass

    page.on("requestfinished", done)
    return sink


def _visit(browser, base: str, mbit: float | None) -> tuple[float, int, str]:
    """A first visit in a fresh context: time to interactive, bytes transferred, how the worker booted."""
    ctx = browser.new_context(service_workers="block")
    page = ctx.new_page()
    _throttle(ctx, page, mbit)
    sink = _count_bytes(page)
    page.goto(base, wait_until="commit", timeout=120_000)  # throttled, "load" can take longer than goto waits
    tti = _load_metrics(page)["tti_ms"]
    boot = page.evaluate("window.calcBridge.versions.boot")
    ctx.close()
    return tti, sum(sink), boot


def _bare_visit(browser, base: str, mbit: float | None) -> tuple[float, int]:
    """A bare Pyodide boot (BARE) in a fresh context at the same link speed: milliseconds, bytes."""
    ctx = browser.new_context(service_workers="block")
    ctx.route(base + "bare.html", _fulfil(BARE, "text/html"))
    page = ctx.new_page()
    _throttle(ctx, page, mbit)
    sink = _count_bytes(page)
    page.goto(base + "bare.html", wait_until="commit", timeout=120_000)
    page.wait_for_selector("html[data-state=ready]", state="attached", timeout=120_000)
    ms = page.evaluate("performance.getEntriesByName('bare:ready')[0].startTime")
    ctx.close()
    return ms, sum(sink)


def _repeat_visit(browser, base: str) -> tuple[float, int, str]:
    """A repeat visit on localhost: the service worker installed by a first visit serves the reload."""
    ctx = browser.new_context(service_workers="allow")
    page = ctx.new_page()
    page.goto(base)
    _load_metrics(page)
    for _ in range(1200):  # wait_for_function evaluates a string, which the page's CSP refuses
        if page.evaluate("navigator.serviceWorker.controller !== null"):
            break
        page.wait_for_timeout(100)
    sink = _count_bytes(page)
    page.reload()
    tti = _load_metrics(page)["tti_ms"]
    boot = page.evaluate("window.calcBridge.versions.boot")
    ctx.close()
    return tti, sum(sink), boot


def visits(dist: Path, runs: int) -> dict:
    """Issue 16's figures, alternating cold runs: per link speed a bare boot and a first visit of the
    calculator (time, bytes, how it booted), then a repeat visit with the service worker warm."""
    server, base = serve(dist)
    rows: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(runs):
            for mbit in LINKS:
                row = rows.setdefault(
                    str(mbit or "localhost"), {"bare": [], "bare_bytes": [], "page": [], "bytes": [], "boot": []}
                )
                ms, size = _bare_visit(browser, base, mbit)
                row["bare"].append(ms)
                row["bare_bytes"].append(size)
                tti, size, boot = _visit(browser, base, mbit)
                row["page"].append(tti)
                row["bytes"].append(size)
                row["boot"].append(boot)
            row = rows.setdefault("repeat", {"page": [], "bytes": [], "boot": []})
            tti, size, boot = _repeat_visit(browser, base)
            row["page"].append(tti)
            row["bytes"].append(size)
            row["boot"].append(boot)
        browser.close()
    server.shutdown()
    out = {}
    for name, row in rows.items():
        out[name] = {
            "tti_ms": median(row["page"]),
            "bytes": int(statistics.median(row["bytes"])),
            "boots": sorted(set(row["boot"])),
        }
        if "bare" in row:
            out[name] |= {"bare_ms": median(row["bare"]), "bare_bytes": int(statistics.median(row["bare_bytes"]))}
            out[name]["over_bare"] = round(out[name]["tti_ms"] / out[name]["bare_ms"], 3)
    out["repeat"]["over_bare"] = round(out["repeat"]["tti_ms"] / out["localhost"]["bare_ms"], 3)
    out["runs"] = runs
    return out


def _input_latencies(browser, base: str) -> dict[str, list[float]]:
    """Input latency on a fresh page: 100 slider steps, 100 format choices, 100 GPU choices."""
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(base)
    _load_metrics(page)
    slider = [str(10 + (i % 65) * 0.125) for i in range(100)]
    formats = page.eval_on_selector_all("#quant option", "os => os.map(o => o.value)")
    gpus = page.eval_on_selector_all("#gpu option", "os => os.map(o => o.value)")
    out = {
        "slider": _latency(page, "ctx-slider", slider),
        "format": _latency(page, "quant", (formats * 4)[:100]),
        "gpu": _latency(page, "gpu", (gpus * 2)[:100]),
    }
    ctx.close()
    return out


def _latency_rows(measured: dict[str, list[float]]) -> dict:
    return {name: {"p50": percentile(v, 0.5), "p95": percentile(v, 0.95), "n": len(v)} for name, v in measured.items()}


def input_latency(dist: Path) -> dict:
    """Only the input latency rows of run() (python -m bench --input-only)."""
    server, base = serve(dist)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        measured = _input_latencies(browser, base)
        browser.close()
    server.shutdown()
    return _latency_rows(measured)


def run(dist: Path, runs: int, mix: list[dict]) -> dict:
    server, base = serve(dist)
    info = json.loads((dist / "build-info.json").read_text())
    cold, warm, bare_cold, bare_warm, worker_cold, worker_warm, loads = [], [], [], [], [], [], []
    model_cold, model_warm = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(runs):
            # the page and the bare boots alternate, each in a fresh context: all cold
            for cold_list, warm_list, routes in (
                (bare_cold, bare_warm, {"bare.html": (BARE, "text/html")}),
                (
                    worker_cold,
                    worker_warm,
                    {"bare-worker.html": (BARE_WORKER, "text/html"), "bare-worker.js": (BARE_WORKER_JS, "text/javascript")},
                ),
            ):
                cold_ms, warm_ms = _bare_pair(browser, base, routes)
                cold_list.append(cold_ms)
                warm_list.append(warm_ms)

            ctx = browser.new_context()
            responses = []
            page = ctx.new_page()
            _observe_elements(page)
            page.on("response", lambda response, sink=responses: sink.append(response))  # a bound list.append cannot be a handler
            page.goto(base)
            cold.append(_load_metrics(page))
            loads.append(_bytes([(r.url, r.body()) for r in responses if r.ok and r.request.method == "GET"]))
            page.reload()
            warm.append(_load_metrics(page))
            ctx.close()

            ctx = browser.new_context()  # a model page, cold then warm
            page = ctx.new_page()
            _observe_elements(page)
            page.goto(base + MODEL_PAGE)
            model_cold.append(_load_metrics(page, "model-vram"))
            page.reload()
            model_warm.append(_load_metrics(page, "model-vram"))
            ctx.close()

        latencies = _input_latencies(browser, base)

        ctx = browser.new_context()
        body = THROUGHPUT % {"zip": info["calc_zip"], "mix": json.dumps(mix)}
        ctx.route(base + "throughput.html", lambda route: route.fulfill(body=body, content_type="text/html"))
        page = ctx.new_page()
        page.goto(base + "throughput.html")
        page.wait_for_function("window.rate !== undefined", timeout=300_000)
        pyodide_rate = page.evaluate("window.rate")
        browser.close()
    server.shutdown()

    def ms(rows, key):
        return median([r[key] for r in rows if r[key] is not None])

    tti_cold, tti_warm = ms(cold, "tti_ms"), ms(warm, "tti_ms")
    return {
        "first_paint_numbers_ms": {"cold": ms(cold, "first_paint_numbers_ms"), "warm": ms(warm, "first_paint_numbers_ms")},
        "time_to_interactive_ms": {"cold": tti_cold, "warm": tti_warm},
        "model_page_first_paint_ms": {
            "cold": ms(model_cold, "first_paint_numbers_ms"),
            "warm": ms(model_warm, "first_paint_numbers_ms"),
        },
        "bare_pyodide_boot_ms": {"cold": median(bare_cold), "warm": median(bare_warm)},
        "tti_over_bare": {"cold": round(tti_cold / median(bare_cold), 3), "warm": round(tti_warm / median(bare_warm), 3)},
        "bare_worker_boot_ms": {"cold": median(worker_cold), "warm": median(worker_warm)},
        "tti_over_bare_worker": {
            "cold": round(tti_cold / median(worker_cold), 3),
            "warm": round(tti_warm / median(worker_warm), 3),
        },
        "input_latency_ms": _latency_rows(latencies),
        "bytes_cold": loads[0],
        "pyodide_estimates_per_s": round(pyodide_rate),
        "runs": runs,
    }
