"""Core throughput on CPython: full estimates (recommendations, reverse solvers, curve) per second.

    python -m bench.core [--n 5000] [--json]

The requests are drawn from a fixed seed over catalog models, formats, engines, contexts, batches and
GPU setups, so every run measures the same mix.  Caches warm on a first pass (as they do in a page
session), then the timed pass runs the whole mix; the median of --repeat passes is reported.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calc.api import handle

MODELS = [
    "qwen3-coder-480b-a35b-instruct",
    "llama-3.1-8b",
    "llama-3.1-70b",
    "deepseek-v3",
    "gemma-3-27b-it",
    "gpt-oss-120b",
    "qwen3-30b-a3b",
    "qwen3-next-80b-a3b-instruct",
    "mixtral-8x7b-v0.1",
    "mistral-7b-v0.3",
]
QUANTS = {
    "llama.cpp": ["q4_k_m", "q8_0", "q5_k_m", "iq4_xs", "q2_k"],
    "vllm": ["native", "awq", "fp8", "bf16"],
    "transformers": ["bf16", "nf4", "native"],
}
GPUS = [
    ("rtx-4090", 1),
    ("rtx-4090", 2),
    ("h100-sxm", 1),
    ("h100-sxm", 4),
    ("h200", 8),
    ("a100-80gb-sxm", 2),
    ("apple-m4-max-128gb", 1),
    ("mi300x", 2),
]
CONTEXTS = [1024, 4096, 8192, 32768, 65536, 131072, 262144]


def requests(n: int, seed: int = 2026) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        engine = rng.choice(list(QUANTS))
        gpu, count = rng.choice(GPUS)
        out.append(
            {
                "model": rng.choice(MODELS),
                "engine": engine,
                "quant": rng.choice(QUANTS[engine]),
                "context": rng.choice(CONTEXTS),
                "batch": rng.choice([1, 1, 1, 2, 4, 16]),
                "gpu": gpu,
                "gpus": count,
            }
        )
    return out


def run(n: int, repeat: int) -> dict:
    mix = requests(n)
    for r in mix:  # warm: plans and weight tables are built once per (model, format, engine)
        assert handle(r)["ok"]
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        for r in mix:
            handle(r)
        rates.append(n / (time.perf_counter() - start))
    return {
        "estimates_per_s": round(statistics.median(rates)),
        "runs": [round(x) for x in rates],
        "n": n,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    result = run(args.n, args.repeat)
    print(
        json.dumps(result)
        if args.json
        else f"{result['estimates_per_s']:,} full estimates/s on CPython "
        f"{result['python']} (median of {args.repeat} x {args.n}; runs {result['runs']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
