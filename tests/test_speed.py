"""Speed estimates (calc/speed.py): each published measurement's share of its roofline, computed by
hand here; the band per engine; the ranges the band gives, per sequence and in total; and what the
page says where there is no GPU or no measurement."""

from __future__ import annotations

import pytest

from calc import catalog, present
from calc.api import handle
from calc.speed import efficiency

GIB, MIB = 2**30, 2**20

# (run id, llama-bench size as printed, in bytes; decode share; prefill share) - each share by hand:
#   decode  = tg128 t/s x size / bandwidth         prefill = pp512 t/s x 2 x params / (bf16 TFLOPS x 1e12)
RUNS = [
    # RTX 4090: 1.008e12 B/s, 165.2 TFLOPS.  61.03 x 12.55 GiB / 1.008e12; 11048.22 x 2 x 6.74e9 / 165.2e12
    ("pr4766-rtx4090-llama7b-f16", 12.55 * GIB, 0.8159, 0.9015),
    ("pr4766-rtx4090-llama7b-q8_0", 6.67 * GIB, 0.6972, 0.6254),  # 98.13 x 6.67 GiB; 7664.00 t/s
    ("pr4766-rtx4090-llama7b-q4_0", 3.56 * GIB, None, 0.6511),  # pp512 7979.85 t/s only
    # RTX 3090 Ti: 1.008e12 B/s, 80.0 TFLOPS.  127.43 x 3.56 GiB; 4035.47 x 2 x 6.74e9 / 80e12
    ("pr4812-rtx3090ti-llama7b-q4_0", 3.56 * GIB, 0.4832, 0.6800),
    # M2 Ultra: 8e11 B/s, no FLOPS in the catalog.  62.05 x 6.67 GiB, 88.54 x 3.56 GiB, 83.63 x 3.95 GiB
    ("pr2917-m2ultra-llama7b-q8_0", 6.67 * GIB, 0.5555, None),
    ("pr2917-m2ultra-llama7b-q4_0", 3.56 * GIB, 0.4231, None),
    ("pr2917-m2ultra-llama7b-q4_1", 3.95 * GIB, 0.4434, None),
    ("geerlingguy43-rtx4090-tinyllama-q4_k_m", 636.18 * MIB, 0.5045, None),  # 762.37 x 636.18 MiB / 1.008e12
]


def test_every_run_is_in_the_table():
    assert sorted(r.id for r in catalog.speed_runs()) == sorted(r[0] for r in RUNS)


@pytest.mark.parametrize(("rid", "size", "decode", "prefill"), RUNS, ids=[r[0] for r in RUNS])
def test_each_run_share_of_its_roofline(rid, size, decode, prefill):
    run = next(r for r in catalog.speed_runs() if r.id == rid)
    assert run.size_bytes == round(size)
    assert run.decode_fraction() == (pytest.approx(decode, abs=5e-5) if decode else None)
    assert run.prefill_fraction() == (pytest.approx(prefill, abs=5e-5) if prefill else None)
    assert run.source.startswith("https://") and run.date


def test_llama_cpp_band_is_the_spread_of_its_runs():
    """min..max of the shares above, each to 3 decimals: decode 0.423 (M2 Ultra Q4_0) .. 0.816 (RTX 4090
    F16) over 7 runs; prefill 0.625 (RTX 4090 Q8_0) .. 0.902 (RTX 4090 F16) over 4."""
    decode, prefill = efficiency("llama.cpp", "decode"), efficiency("llama.cpp", "prefill")
    assert (decode.low, decode.high, decode.runs) == (0.423, 0.816, 7)
    assert (prefill.low, prefill.high, prefill.runs) == (0.625, 0.902, 4)
    assert decode.sources == (
        "https://github.com/ggml-org/llama.cpp/pull/4766",
        "https://github.com/ggml-org/llama.cpp/pull/4812",
        "https://github.com/ggml-org/llama.cpp/pull/2917",
        "https://github.com/geerlingguy/ai-benchmarks/issues/43",
    )


@pytest.mark.parametrize("engine", ["vllm", "transformers"])
def test_an_engine_without_runs_has_no_band(engine):
    assert efficiency(engine, "decode") is None and efficiency(engine, "prefill") is None


BASE = {"model": "llama-3.1-8b", "quant": "q4_k_m", "gpu": "h100-sxm", "gpus": 1, "context": 8192, "recommend": False}


def speed(**request) -> dict:
    answer = handle({**BASE, "curve": False, **request})
    assert answer["ok"], answer.get("error")
    return answer["speed"]


# (batch, ceiling per sequence, ceiling in total): Llama-3.1-8B Q4_K_M on one H100 SXM at 8k
CEILINGS = [(1, 588.63, 588.63), (4, 375.88, 1503.53)]


@pytest.mark.parametrize(("batch", "each", "total"), CEILINGS)
def test_range_is_the_ceiling_times_the_band(batch, each, total):
    """588.63 x 0.423 = 248.99 and x 0.816 = 480.32 (480.33 from the unrounded ceiling); at batch 4 the
    total is 4 x the per-sequence figure, ceilings and ranges alike."""
    s = speed(batch=batch)
    assert (s["decode_tokens_per_s_per_sequence"], s["decode_tokens_per_s"]) == (each, total)
    assert s["decode_range_tokens_per_s_per_sequence"] == pytest.approx([each * 0.423, each * 0.816], abs=0.02)
    assert s["decode_range_tokens_per_s"] == pytest.approx([total * 0.423, total * 0.816], abs=0.02)
    assert s["decode_range_tokens_per_s"] == pytest.approx(
        [batch * x for x in s["decode_range_tokens_per_s_per_sequence"]], abs=0.05
    )
    low, high = s["prefill_range_seconds"]  # the longest at the lowest share
    assert (low, high) == pytest.approx((s["prefill_seconds"] / 0.902, s["prefill_seconds"] / 0.625), abs=1e-4)
    assert s["decode_efficiency"]["runs"] == 7 and s["prefill_efficiency"]["runs"] == 4


def test_batch_1_is_8b_at_588_at_most():
    """The issue's example: the ceiling stays 588.63 tokens/s; the realistic range is 249-480."""
    s = speed()
    assert s["decode_tokens_per_s"] == 588.63 and s["decode_range_tokens_per_s_per_sequence"] == [248.99, 480.33]


def test_no_gpu_no_speed():
    s = speed(gpu=None)
    assert all(v is None for k, v in s.items() if k != "basis")
    texts = present.speed_texts(handle({**BASE, "gpu": None}), present.texts("en")["result"], "llama.cpp")
    assert texts == {"speed": "not estimated", "speed-total": "", "ttft": "", "speed-note": ""}


def test_engine_without_runs_shows_the_ceiling_as_such():
    s = speed(engine="vllm", quant="native")
    assert s["decode_tokens_per_s"] > 0 and s["prefill_seconds"] > 0
    assert s["decode_range_tokens_per_s"] is None and s["decode_efficiency"] is None and s["prefill_range_seconds"] is None


def view(lang="en", **request) -> dict:
    answer = handle({**BASE, "op": "view", "lang": lang, **request})
    assert answer["ok"], answer.get("error")
    return answer["view"]


SLOTS = ("speed", "speed-total", "ttft", "speed-note")
NOTE = (
    "Decode: the ceiling × 42%–82%, the share llama.cpp reached in 7 published runs (one sequence, one GPU); "
    "prefill: the ceiling × 63%–90% (4 runs). Runs:"
)
NOTE_ZH = (
    "解码：上限 × 42%–82%，即 llama.cpp 在 7 次公开实测（单序列、单 GPU）中达到的比例；"
    "预填充：上限 × 63%–90%（4 次实测）。实测来源："
)
# (request, language, the four texts) - by hand from the answers above: 248.99-480.33 per sequence;
# at batch 4 159.00-306.72 per sequence (375.88 x 0.423, x 0.816) and 635.99-1226.88 in total;
# prefill 0.1421 s / 0.902 = 0.1575 s .. / 0.625 = 0.2274 s, at batch 4 0.5682 s -> 0.6299 .. 0.9091 s
VIEWS = [
    ({}, "en", ("≈ 249–480 tokens/s per sequence", "", "≈ 0.16–0.23 s to prefill 8,192 tokens", NOTE)),
    (
        {"batch": 4},
        "en",
        (
            "≈ 159–307 tokens/s per sequence",
            "≈ 636–1,227 tokens/s over 4 sequences",
            "≈ 0.63–0.91 s to prefill 4 × 8,192 tokens",
            NOTE,
        ),
    ),
    (
        {"batch": 4},
        "zh",
        (
            "每个序列约 159–307 token/秒",
            "4 个序列合计约 636–1,227 token/秒",
            "预填充 4 × 8,192 个 token 约需 0.63–0.91 秒",
            NOTE_ZH,
        ),
    ),
    (
        {"engine": "vllm", "quant": "native", "batch": 4},
        "en",
        (
            "at most 173.5 tokens/s per sequence: the memory-bandwidth ceiling, as vLLM has no measured range",
            "at most 694.1 tokens/s over 4 sequences: the ceiling",
            "at least 0.57 s to prefill 4 × 8,192 tokens: the compute ceiling, as vLLM has no measured range",
            "Ceilings only: the calculator has no published vLLM runs to give a realistic range.",
        ),
    ),
]


@pytest.mark.parametrize(("request_", "lang", "expected"), VIEWS, ids=["batch1", "batch4", "batch4-zh", "vllm"])
def test_speed_texts_hand_checked(request_, lang, expected):
    v = view(lang, **request_)
    assert tuple(v["text"][k] for k in SLOTS) == expected
    ranged = "engine" not in request_
    assert [s["href"] for s in v["speed_sources"]] == (list(efficiency("llama.cpp", "decode").sources) if ranged else [])
    texts = ["ggml-org/llama.cpp #4766", "ggml-org/llama.cpp #4812", "ggml-org/llama.cpp #2917", "geerlingguy/ai-benchmarks #43"]
    assert [s["text"] for s in v["speed_sources"]] == (texts if ranged else [])


@pytest.mark.parametrize(
    ("low", "high", "text"),
    [(248.99, 480.33, ("249", "480")), (3.04, 5.86, ("3.0", "5.9")), (10.0, 19.4, ("10", "19"))],
)
def test_rate_format(low, high, text):
    assert present.rate(low, high) == text


@pytest.mark.parametrize(
    ("low", "high", "text"),
    [
        (0.1575, 0.2274, ("0.16", "0.23")),
        (0.0412, 0.0596, ("0.041", "0.060")),
        (12.3, 17.75, ("12.3", "17.8")),
        (150, 216, ("150", "216")),
    ],
)
def test_seconds_format(low, high, text):
    assert present.seconds(low, high) == text


def test_cli_prints_the_same_ranges():
    """python -m calc estimate prints the page's numbers: per sequence, in total, the prefill time and
    the band with its sources; an engine without runs, its ceilings named as such."""
    from calc.cli import speed_lines

    answer = handle({**BASE, "batch": 4, "curve": False})
    lines = speed_lines(answer["speed"], answer["request"], "llama.cpp")
    assert lines[:4] == [
        "decode (estimate): 159-307 tokens/s per sequence",
        "decode (estimate): 636-1,227 tokens/s over 4 sequences",
        "time to first token (estimate): 0.63-0.91 s for 4 x 8,192 tokens",
        "  range: 42%-82% of the bandwidth ceiling in 7 measured llama.cpp runs, prefill 63%-90% of the compute ceiling in 4",
    ]
    assert lines[4:] == [f"  source: {u}" for u in efficiency("llama.cpp", "decode").sources]
    answer = handle({**BASE, "engine": "vllm", "quant": "native", "curve": False})
    assert speed_lines(answer["speed"], answer["request"], "vLLM") == [
        "decode: at most 208.29 tokens/s per sequence (bandwidth ceiling)",
        "time to first token: at least 0.1421 s for 8,192 tokens (compute ceiling)",
        "  no measured vLLM runs: these are ceilings, not a realistic range",
    ]
    assert speed_lines(handle({**BASE, "gpu": None})["speed"], BASE | {"batch": 1}, "llama.cpp") == []
