"""``python -m bench``: build dist/, measure the page and the core, write bench/results/latest.{json,md}.

    python -m bench [--runs 5] [--n 2000] [--no-build] [--visits-only] [--input-only] [--dist DIR]

Budgets (a 2-core machine, headless Chromium, localhost) are printed beside each figure; the
benchmark reports, it never fails on a missed budget (tests stay deterministic).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import build  # noqa: E402
from bench import core, page  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BUDGETS = {  # issue 4's budgets
    "first paint with numbers, cold": ("ms", 300),
    "model page, first paint with numbers, cold": ("ms", 300),  # issue 12
    "time to interactive / bare Pyodide boot, cold": ("x", 1.10),
    "input latency p95, slider": ("ms", 16),
    "input latency p95, format selector": ("ms", 16),
    "input latency p95, GPU selector": ("ms", 16),
    "own assets, gzipped": ("KB", 150),
    "core, CPython": ("estimates/s", 5000),
    # issue 16: the memory snapshot
    "repeat visit / bare Pyodide boot": ("x", 0.35),
    "first visit, localhost / bare Pyodide boot": ("x", 0.5),
    "first visit, 10 Mbit/s / bare Pyodide boot": ("x", 1.0),
}


def visit_rows(v: dict) -> list[tuple[str, float, str]]:
    """The snapshot's rows (bench.page.visits): per link, the bare boot, the first visit, their ratio
    and the bytes each transferred; then the repeat visit."""
    out = []
    for link in [k for k in v if k not in ("repeat", "runs")]:
        name = "localhost" if link == "localhost" else f"{link} Mbit/s"
        row = v[link]
        out += [
            (f"bare Pyodide boot, {name}", row["bare_ms"], "ms"),
            (f"first visit, {name}", row["tti_ms"], f"ms ({'/'.join(row['boots'])})"),
            (f"first visit, {name} / bare Pyodide boot", row["over_bare"], "x"),
            (f"bytes, bare Pyodide boot, {name}", round(row["bare_bytes"] / 1024), "KB"),
            (f"bytes, first visit, {name}", round(row["bytes"] / 1024), "KB"),
        ]
    r = v["repeat"]
    out += [
        ("repeat visit (service worker)", r["tti_ms"], f"ms ({'/'.join(r['boots'])})"),
        ("repeat visit / bare Pyodide boot", r["over_bare"], "x"),
        ("bytes, repeat visit", round(r["bytes"] / 1024), "KB"),
    ]
    return out


def latency_rows(lat: dict) -> list[tuple[str, float, str]]:
    return [
        ("input latency p50, slider", lat["slider"]["p50"], "ms"),
        ("input latency p95, slider", lat["slider"]["p95"], "ms"),
        ("input latency p95, format selector", lat["format"]["p95"], "ms"),
        ("input latency p95, GPU selector", lat["gpu"]["p95"], "ms"),
    ]


def rows(r: dict) -> list[tuple[str, float, str]]:
    p = r["page"]
    return [
        ("first paint with numbers, cold", p["first_paint_numbers_ms"]["cold"], "ms"),
        ("first paint with numbers, warm", p["first_paint_numbers_ms"]["warm"], "ms"),
        ("model page, first paint with numbers, cold", p["model_page_first_paint_ms"]["cold"], "ms"),
        ("model page, first paint with numbers, warm", p["model_page_first_paint_ms"]["warm"], "ms"),
        ("time to interactive, cold", p["time_to_interactive_ms"]["cold"], "ms"),
        ("time to interactive, warm", p["time_to_interactive_ms"]["warm"], "ms"),
        ("bare Pyodide boot, cold", p["bare_pyodide_boot_ms"]["cold"], "ms"),
        ("bare Pyodide boot, warm", p["bare_pyodide_boot_ms"]["warm"], "ms"),
        ("time to interactive / bare Pyodide boot, cold", p["tti_over_bare"]["cold"], "x"),
        ("time to interactive / bare Pyodide boot, warm", p["tti_over_bare"]["warm"], "x"),
        ("bare Pyodide boot in a worker, cold", p["bare_worker_boot_ms"]["cold"], "ms"),
        ("bare Pyodide boot in a worker, warm", p["bare_worker_boot_ms"]["warm"], "ms"),
        ("time to interactive / bare worker boot, cold", p["tti_over_bare_worker"]["cold"], "x"),
        ("time to interactive / bare worker boot, warm", p["tti_over_bare_worker"]["warm"], "x"),
        *latency_rows(p["input_latency_ms"]),
        ("Pyodide core, cold load", round(p["bytes_cold"]["pyodide"]["raw"] / 1024), "KB"),
        ("Pyodide core, cold load, gzipped", round(p["bytes_cold"]["pyodide"]["gzip"] / 1024), "KB"),
        ("memory snapshot, cold load (gzip file)", round(p["bytes_cold"]["snapshot"]["raw"] / 1024), "KB"),
        ("own assets", round(p["bytes_cold"]["own"]["raw"] / 1024), "KB"),
        ("own assets, gzipped", round(p["bytes_cold"]["own"]["gzip"] / 1024), "KB"),
        ("core, CPython", r["core"]["estimates_per_s"], "estimates/s"),
        ("core, Pyodide in Chromium", p["pyodide_estimates_per_s"], "estimates/s"),
        *visit_rows(r["visits"]),
    ]


def markdown(r: dict, table: list | None = None) -> str:
    lines = [
        f"Measured {r['date']} on {r['machine']} (medians of {r['runs']} runs; latency over 100 inputs each).",
        "",
        "| measure | value | budget |",
        "| --- | ---: | ---: |",
    ]
    for name, value, unit in rows(r) if table is None else table:
        budget = BUDGETS.get(name)
        mark = ""
        if budget:
            ok = value >= budget[1] if unit == "estimates/s" else value <= budget[1]
            mark = f"{'≥' if unit == 'estimates/s' else '≤'} {budget[1]:,} {budget[0]} {'✓' if ok else '✗'}"
        lines.append(f"| {name} | {value:,} {unit} | {mark} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--n", type=int, default=2000, help="requests in the core mix")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--visits-only", action="store_true", help="only the snapshot's visit rows; print them, write nothing")
    ap.add_argument("--input-only", action="store_true", help="only the input latency rows; print them, write nothing")
    ap.add_argument("--dist", type=Path, default=build.DIST, help="the built site to measure (default dist/)")
    args = ap.parse_args()
    if not args.no_build:
        build.main(["--out", str(args.dist)])
    import datetime

    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, headless Chromium",
        "runs": args.runs,
    }
    if args.visits_only:
        print(markdown(result, visit_rows(page.visits(args.dist, args.runs))))
        return 0
    if args.input_only:
        print(markdown(result, latency_rows(page.input_latency(args.dist))))
        return 0
    result["core"] = core.run(args.n, 5)
    result["page"] = page.run(args.dist, args.runs, core.requests(300))
    result["visits"] = page.visits(args.dist, args.runs)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
