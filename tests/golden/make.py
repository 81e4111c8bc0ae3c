"""Write tests/golden/estimates.json.gz: the answers of calc.api.handle to a fixed set of requests.

    python tests/golden/make.py

Saved before the redesign (issue 10) so that tests/test_golden.py can hold every later version of the
core to the same numbers and words.  Rewrite it only for a deliberate change of behaviour, and say
which in the commit.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from calc import catalog  # noqa: E402
from calc.api import handle  # noqa: E402

SETUPS = (  # (engine, quant, kv, context, batch, gpu, gpus)
    ("llama.cpp", "q4_k_m", "auto", 32768, 1, "rtx-4090", 2),
    ("llama.cpp", "q8_0", "q8_0", 8192, 4, "h100-sxm", 1),
    ("vllm", "native", "auto", 16384, 8, "h100-sxm", 4),
    ("vllm", "awq", "fp8", 131072, 1, "l40s", 2),
    ("transformers", "native", "auto", 4096, 2, "a100-80gb-sxm", 1),
)


def requests() -> list[dict]:
    out = []
    for i, model in enumerate(sorted(catalog.models())):
        for j, (engine, quant, kv, ctx, batch, gpu, gpus) in enumerate(SETUPS):
            out.append(
                {
                    "model": model,
                    "engine": engine,
                    "quant": quant,
                    "kv_cache": kv,
                    "context": ctx,
                    "batch": batch,
                    "gpu": gpu,
                    "gpus": gpus,
                    "lang": "zh" if (i + j) % 4 == 0 else "en",
                }
            )
    out += [
        {"op": "catalog"},
        {"op": "model", "model": "deepseek-v3"},
        {"model": "llama-3.1-8b", "gpu": None},
        {"model": "qwen3-32b", "quant": "exl2", "bpw": 5.5, "engine": "llama.cpp", "gpu": "rtx-3090", "gpus": 3},
    ]
    return out


def main() -> None:
    rows = [{"request": r, "answer": handle(r)} for r in requests()]
    data = json.dumps(rows, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    (HERE / "estimates.json.gz").write_bytes(gzip.compress(data, mtime=0))
    print(f"{len(rows)} answers, {len(data):,} bytes")


if __name__ == "__main__":
    main()
