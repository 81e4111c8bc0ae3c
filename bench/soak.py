"""Memory over a long session: distinct custom configs and catalog requests through ``handle_json``,
or (--page) through the page's worker bridge in Chromium.

    python -m bench.soak [--custom 10000] [--catalog 10000] [--every 1000] [--json]
    python -m bench.soak --page [--custom 2000] [--catalog 2000]     # after `python build.py`

A page session that pastes config after config (or a service answering many users) must not grow
without bound: the core's caches are bounded, and nothing is kept once evicted.  Each custom config
is a catalog config with a unique hidden size and layer count, so no two share a cache entry; each
catalog request draws from the benchmark mix (bench/core.py).  Reported: the process's resident
memory (Linux /proc/self/statm) before, after every --every calls and at the end, and the growth.
The target is under 100 MB of growth (the benchmark reports, it never fails).  --page sends the
same requests through window.calcBridge on the built site (dist/) and reports the wasm heap each
answer brings, the answers that failed and how often the bridge replaced its worker (its memory
bound, web/js/bridge.js): the page must answer every request, never show garbage.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.core import requests
from calc import catalog
from calc.api import handle_json

BASES = ["llama-3.1-8b", "qwen3-30b-a3b", "gemma-3-27b-it", "deepseek-v3", "mistral-7b-v0.3"]


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def custom_request(i: int, rng: random.Random) -> str:
    """A distinct config.json: a catalog config with its own hidden size and layer count."""
    config = dict(catalog.models()[rng.choice(BASES)].config)
    text = config.get("text_config")
    target = dict(text) if isinstance(text, dict) else config
    target["num_hidden_layers"] = 8 + i % 40
    target["hidden_size"] = 1024 + 128 * (i % 97) + 8 * (i // 97 % 16)
    if target is not config:
        config["text_config"] = target
    engine = rng.choice(["llama.cpp", "vllm", "transformers"])
    quant = {"llama.cpp": "q4_k_m", "vllm": "bf16", "transformers": "bf16"}[engine]
    return json.dumps({"op": "view", "config": config, "engine": engine, "quant": quant, "context": 8192, "gpu": "rtx-4090"})


def run(custom: int, catalog_n: int, every: int) -> dict:
    rng = random.Random(2026)
    mix = [json.dumps({**r, "op": "view"}) for r in requests(2000)]
    handle_json(mix[0])
    gc.collect()
    start = rss_mb()
    trace, failures = [], 0
    for i in range(custom + catalog_n):
        text = custom_request(i, rng) if i < custom else mix[i % len(mix)]
        failures += not json.loads(handle_json(text))["ok"]
        if (i + 1) % every == 0:
            trace.append({"calls": i + 1, "rss_mb": round(rss_mb(), 1)})
    gc.collect()
    end = rss_mb()
    return {
        "custom": custom,
        "catalog": catalog_n,
        "failures": failures,
        "rss_start_mb": round(start, 1),
        "rss_end_mb": round(end, 1),
        "growth_mb": round(end - start, 1),
        "peak_mb": max(p["rss_mb"] for p in trace) if trace else round(end, 1),
        "trace": trace,
    }


def run_page(custom: int, catalog_n: int, every: int) -> dict:
    """The soak through the page: chunks of requests sent by the page to its own worker."""
    from playwright.sync_api import sync_playwright

    from bench.page import ARGS, CHROMIUM, serve

    rng = random.Random(2026)
    mix = requests(2000)
    texts = [custom_request(i, rng) for i in range(custom)]
    texts += [json.dumps({**mix[i % len(mix)], "op": "view"}) for i in range(catalog_n)]
    server, base = serve(Path(__file__).resolve().parents[1] / "dist")
    trace, failures = [], 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(service_workers="block").new_page()
        page.goto(base)
        page.wait_for_selector("html[data-state=ready]:not([data-busy])", state="attached", timeout=120_000)
        for start in range(0, len(texts), every):
            chunk = [json.loads(t) for t in texts[start : start + every]]
            done = page.evaluate(
                """async (requests) => {
                    let failed = 0, heap = 0;
                    for (const r of requests) {
                        const {op, ...payload} = r;
                        const answer = await window.calcBridge.call(op, payload);
                        if (!answer.ok) failed += 1;
                        heap = answer.heap || heap;
                    }
                    return {failed, heap, restarts: window.calcBridge.restarts};
                }""",
                chunk,
            )
            failures += done["failed"]
            trace.append({"calls": start + len(chunk), "heap_mb": round(done["heap"] / 1e6, 1), "restarts": done["restarts"]})
        browser.close()
    server.shutdown()
    return {"custom": custom, "catalog": catalog_n, "failures": failures, "trace": trace}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--custom", type=int, default=10_000)
    p.add_argument("--catalog", type=int, default=10_000)
    p.add_argument("--every", type=int, default=1000)
    p.add_argument("--page", action="store_true", help="through the built page's worker bridge in Chromium")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.page:
        r = run_page(args.custom, args.catalog, args.every)
        print(json.dumps(r) if args.json else " ".join(f"{t['calls']}:{t['heap_mb']}MB/{t['restarts']}" for t in r["trace"]))
        if not args.json:
            print(
                f"{r['custom']:,} custom configs + {r['catalog']:,} catalog requests through the page: "
                f"{r['failures']} failed answers, worker replaced {r['trace'][-1]['restarts']} times"
            )
        return 0
    r = run(args.custom, args.catalog, args.every)
    if args.json:
        print(json.dumps(r))
    else:
        print(" ".join(f"{p['calls']}:{p['rss_mb']}" for p in r["trace"]))
        print(
            f"{r['custom']:,} custom configs + {r['catalog']:,} catalog requests: resident memory "
            f"{r['rss_start_mb']} -> {r['rss_end_mb']} MB (growth {r['growth_mb']} MB, peak {r['peak_mb']} MB), "
            f"{r['failures']} failed answers"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
