"""Accuracy against real runtime measurements: our error and two naive baselines', per component.

    python -m bench.accuracy               # the summary table (Markdown)
    python -m bench.accuracy --markdown    # the summary, every comparison and every excluded record
    python -m bench.accuracy --json        # everything as JSON

The records are calc/data/validation.json (llama.cpp / ik_llama.cpp load logs, vLLM memory-profiler
lines, published GGUF sizes) and calc/data/transformers_validation.json (transformers generate()
peaks), each quoting its source; calc/validation.py turns each into a core request and compares.
Errors are (ours - measured) / measured.  Baselines, on the same records:
    (a) total (transformers: peak) = parameters x nominal bytes per parameter x 1.2   ("20% overhead")
    (b) weights = parameters x tabulated bits per weight / 8; KV = 2 x layers x KV heads x
        (hidden / heads) x tokens x element bytes, every layer full attention
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calc import speed, validation

LABELS = {
    "weights": "weights on the GPU(s)",
    "weights_file": "weights, whole GGUF",
    "kv_cache": "KV cache",
    "compute": "compute / activations",
    "total": "total (weights + KV + compute)",
    "kv_pool": "KV memory left (vLLM)",
    "kv_tokens": "KV capacity in tokens (vLLM)",
    "peak": "peak of a generate() run (transformers)",
}
BASELINE = {"total": "(a)", "peak": "(a)", "weights": "(b)", "weights_file": "(b)", "kv_cache": "(b)"}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def summary_markdown(table: list[dict], summary: dict) -> str:
    """The per-engine, per-component table."""
    lines = [
        f"{summary['usable']} usable records of {summary['records']} ({summary['excluded']} excluded, with reasons), "
        f"{summary['comparisons']} comparisons, {len(summary['families'])} model families, engines: "
        f"{', '.join(summary['engines'])}.",
        "",
        "| engine | component | n | ours median | ours max | tolerance | naive | naive median | naive max |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for t in table:
        base = BASELINE.get(t["component"], "") if t["baseline_n"] else ""
        lines.append(
            f"| {t['engine']} | {LABELS[t['component']]} | {t['n']} | {_pct(t['ours']['median'])} | "
            f"{_pct(t['ours']['max'])} | {_pct(t['tolerance'])} | {base or '-'} | "
            f"{_pct(t['baseline']['median']) if base else '-'} | {_pct(t['baseline']['max']) if base else '-'} |"
        )
    return "\n".join(lines)


def releases_markdown(rows: list[dict]) -> str:
    """vLLM by release (engines.toml): each release's records, our median and largest error."""
    lines = ["| vLLM release | component | n | ours median | ours max |", "| --- | --- | ---: | ---: | ---: |"]
    for t in validation.release_table(rows):
        stats = f"{_pct(t['ours']['median'])} | {_pct(t['ours']['max'])}"
        lines.append(f"| {t['release']} | {LABELS[t['component']]} | {t['n']} | {stats} |")
    return "\n".join(lines)


def speed_markdown() -> str:
    """Tokens/s (calc/speed.py accuracy): each engine and backend's fit against its runs, beside the
    roofline (the naive bandwidth / model size), with the measured spread the range applies."""
    lines = [
        "| engine | backend | tokens/s | n | fit | ours median | ours max | measured spread | roofline median | roofline max |",
        "| --- | --- | --- | ---: | --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in speed.accuracy():
        fit = f"{r['share']:.3f} of the ceiling" + (f" + {r['layer_seconds'] * 1e6:.1f} us/layer" if r["layer_seconds"] else "")
        spread = f"{_pct(r['spread'][0])}-{_pct(r['spread'][1])}"
        lines.append(
            f"| {r['engine']} | {r['backend']} | {r['kind']} | {r['n']} | {fit} | {_pct(r['ours']['median'])} | "
            f"{_pct(r['ours']['max'])} | {spread} | {_pct(r['naive']['median'])} | {_pct(r['naive']['max'])} |"
        )
    return "\n".join(lines)


def rows_markdown(rows: list[dict]) -> str:
    """Every comparison: measured, ours, naive, signed errors."""
    lines = [
        "| record | engine | component | measured | ours | error | naive error |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        unit, fmt = (1, "{:,.0f}") if r["component"] == "kv_tokens" else (2**20, "{:,.1f} MiB")
        naive = f"{100 * r['baseline_error']:+.2f}%" if "baseline_error" in r else "-"
        lines.append(
            f"| {r['record']} | {r['engine']} | {r['component']} | {fmt.format(r['measured'] / unit)} | "
            f"{fmt.format(r['ours'] / unit)} | {100 * r['error']:+.2f}% | {naive} |"
        )
    return "\n".join(lines)


def excluded_markdown() -> str:
    """Records and comparisons left out, each with its reason."""
    lines = ["| record | left out | reason |", "| --- | --- | --- |"]
    for rec in validation.records():
        m = rec["mapping"]
        if m.get("excluded"):
            lines.append(f"| {rec['id']} | whole record | {m['excluded']} |")
            continue
        for comp, why in m.get("exclude", {}).items():
            lines.append(f"| {rec['id']} | {comp} | {why} |")
    return "\n".join(lines)


ACCURACY = Path(__file__).resolve().parents[1] / "calc" / "data" / "accuracy.json"


def write_accuracy(spread: dict, summary: dict) -> None:
    """calc/data/accuracy.json: the largest error measured per engine and part, read by the core to
    put a range on every estimate.  tests/test_validation.py checks it matches the records."""
    data = {
        "_about": "Largest |relative error| of each part of the breakdown over the validation records "
        "(calc/data/validation.json), per engine; written by python -m bench.accuracy --write.",
        "source": f"{summary['usable']} usable public runtime measurements (calc/data/validation.json)",
        "engines": spread,
    }
    ACCURACY.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", "utf-8")


def page_report(source_url: Callable[[object], str | None]) -> dict:
    """The page's Accuracy section: validation's per-engine table and counts, the baseline labels, and
    every usable record with its model's name, engine, source and the source's link (source_url finds
    it, as it does for the spec card).  build.py runs this in CPython; the page only shows it."""
    records = [
        {
            "model": validation.model_name(rec),
            "engine": validation.report_engine(rec),
            "url": source_url(rec["source"]),
            "source": rec["source"],
        }
        for rec in validation.records()
        if validation.usable(rec)
    ]
    return {
        "table": validation.table(validation.rows()),
        "releases": validation.release_table(validation.rows()),
        "summary": validation.summary(),
        "speed": speed.accuracy(),
        "records": records,
        "baselines": BASELINE,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print everything as JSON")
    p.add_argument("--markdown", action="store_true", help="also list every comparison and every exclusion")
    p.add_argument("--write", action="store_true", help="write calc/data/accuracy.json (the ranges the estimates show)")
    args = p.parse_args(argv)
    rows = validation.rows()
    table = validation.table(rows)
    summary = validation.summary()
    if args.write:
        write_accuracy(validation.spread(rows), summary)
    if args.json:
        excluded = [
            {"record": r["id"], "excluded": r["mapping"].get("excluded"), "exclude": r["mapping"].get("exclude", {})}
            for r in validation.records()
            if r["mapping"].get("excluded") or r["mapping"].get("exclude")
        ]
        releases = validation.release_table(rows)
        out = {"summary": summary, "table": table, "releases": releases, "speed": speed.accuracy()}
        out |= {"rows": rows, "excluded": excluded}
        print(json.dumps(out, indent=1))
        return 0
    print(summary_markdown(table, summary))
    print("\n" + releases_markdown(rows))
    print("\n" + speed_markdown())
    if args.markdown:
        print("\n## Every comparison\n")
        print(rows_markdown(rows))
        print("\n## Left out\n")
        print(excluded_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
