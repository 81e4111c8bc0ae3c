"""Invariants over the catalog: more context, sequences or bits never mean less memory; nothing is
negative; a bigger GPU never fits less; the reverse solvers agree with the forward estimate."""

from __future__ import annotations

import itertools

import pytest

from calc import catalog
from calc.api import handle
from calc.recommend import COUNTS, HEADROOM

MODELS = [
    "llama-3.1-8b",
    "qwen3-coder-480b-a35b-instruct",
    "deepseek-v3",
    "gemma-3-27b-it",
    "gpt-oss-120b",
    "qwen3-next-80b-a3b-instruct",
    "jamba-v0.1",
    "llama-4-scout-17b-16e-instruct",
    "mixtral-8x7b-v0.1",
    "phi-4",
    "falcon-40b",
    "olmo-2-1124-7b",
]
ENGINES = ["llama.cpp", "vllm", "transformers"]
QUANT = {"llama.cpp": "q4_k_m", "vllm": "awq", "transformers": "bf16"}


def est(**kw) -> dict:
    r = handle({"curve": False, "recommend": False, **kw})
    assert r["ok"], r.get("error")
    return r


def totals(**kw) -> int:
    return est(**kw)["memory"]["total_bytes"]


@pytest.mark.parametrize("model,engine", list(itertools.product(MODELS, ENGINES)))
def test_monotone_in_context_and_batch(model, engine):
    base = {"model": model, "engine": engine, "quant": QUANT[engine], "gpu": "h100-sxm", "gpus": 8}
    previous = 0
    for context in (1, 512, 1000, 4096, 32768, 131072, 262144):
        now = totals(**base, context=context)
        assert now >= previous, context
        previous = now
    previous = 0
    for batch in (1, 2, 3, 8, 64):
        now = totals(**base, context=4096, batch=batch)
        assert now >= previous, batch
        previous = now


@pytest.mark.parametrize("model", MODELS)
def test_more_bits_never_less_memory(model):
    """Within a family of formats that differ only in bits: GGUF K-quants ladder, float widths."""
    for ladder, engine in (
        (["q2_k", "q3_k_m", "q4_k_m", "q5_k_m", "q6_k", "q8_0", "f16"], "llama.cpp"),
        (["nf4", "fp8", "bf16", "fp32"], "transformers"),
    ):
        sizes = [est(model=model, engine=engine, quant=q, context=4096)["memory"]["weights_bytes"] for q in ladder]
        assert sizes == sorted(sizes), list(zip(ladder, sizes, strict=True))


@pytest.mark.parametrize("model,engine", list(itertools.product(MODELS, ENGINES)))
def test_nothing_negative_and_the_bar_adds_up(model, engine):
    """The headline is the sum of the parts the page's bar shows; one row per GPU asked for."""
    r = est(model=model, engine=engine, quant=QUANT[engine], context=8192, batch=2, gpu="a100-80gb-sxm", gpus=4)
    mem = r["memory"]
    assert all(v >= 0 for v in mem.values())
    assert mem["total_bytes"] == mem["weights_bytes"] + mem["kv_cache_bytes"] + mem["activations_bytes"] + mem["overhead_bytes"]
    assert len(r["per_gpu"]) == 4
    assert r["speed"]["decode_tokens_per_s"] > 0


@pytest.mark.parametrize("model,engine", list(itertools.product(MODELS, ENGINES)))
def test_more_gpus_share_the_same_weights(model, engine):
    """Splitting over 4 GPUs moves the weights, it does not add or drop any; no GPU of the four holds
    more than one GPU alone; and the fit is judged on the fullest GPU."""
    one, four = (
        est(model=model, engine=engine, quant=QUANT[engine], context=8192, batch=2, gpu="a100-80gb-sxm", gpus=n) for n in (1, 4)
    )
    assert four["memory"]["weights_bytes"] == one["memory"]["weights_bytes"]
    fullest = max(g["total_bytes"] for g in four["per_gpu"])
    assert fullest <= one["memory"]["total_bytes"]
    assert four["fit"]["used_bytes"] == fullest


def test_bigger_gpu_never_fits_less():
    gpus = sorted(catalog.gpus().values(), key=lambda g: g.usable_bytes)
    for model, engine in itertools.product(["llama-3.1-70b", "qwen3-30b-a3b", "gemma-3-27b-it"], ENGINES):
        fits = [
            est(model=model, engine=engine, quant=QUANT[engine], context=16384, gpu=g.id, gpus=1)["fit"]["fits"] for g in gpus
        ]
        # once a GPU fits, every larger one fits too
        first = fits.index(True) if True in fits else len(fits)
        assert all(fits[first:]), (model, engine)


@pytest.mark.parametrize(
    "model,engine", list(itertools.product(["llama-3.1-8b", "qwen3-30b-a3b", "gemma-3-27b-it", "deepseek-v3"], ENGINES))
)
def test_reverse_solvers_agree_with_forward(model, engine):
    gpu, n = ("h200", 8) if model == "deepseek-v3" else ("rtx-4090", 1) if engine == "llama.cpp" else ("h100-sxm", 1)
    quant = "q2_k" if model == "deepseek-v3" and engine == "llama.cpp" else QUANT[engine]
    r = est(model=model, engine=engine, quant=quant, context=4096, gpu=gpu, gpus=n)
    cap = r["fit"]["capacity_bytes"]
    longest = r["max_context"]
    if longest is None:
        assert not est(model=model, engine=engine, quant=quant, context=1, gpu=gpu, gpus=n)["fit"]["fits"]
        return
    at = est(model=model, engine=engine, quant=quant, context=longest, gpu=gpu, gpus=n)
    assert at["fit"]["used_bytes"] <= cap
    assert longest <= r["max_context_limit"]
    if longest < r["max_context_limit"]:
        assert not est(model=model, engine=engine, quant=quant, context=longest + 1, gpu=gpu, gpus=n)["fit"]["fits"]
    if r["max_batch"]:
        most = r["max_batch"]
        assert est(model=model, engine=engine, quant=quant, context=4096, batch=most, gpu=gpu, gpus=n)["fit"]["fits"]
        if most < 4096:
            assert not est(model=model, engine=engine, quant=quant, context=4096, batch=most + 1, gpu=gpu, gpus=n)["fit"]["fits"]


# Requests whose every recommendation is re-estimated directly on its own GPU and count.
RECOMMEND_CASES = [
    {"model": "llama-3.1-70b", "quant": "q4_k_m", "engine": "llama.cpp", "context": 32768},
    # the selected GPU's vLLM defaults once stood for every GPU: "1 x H100 NVL, 5.2% headroom" was 3.7%
    {"model": "qwen2.5-72b", "quant": "awq", "engine": "vllm", "context": 131072, "gpu": "rtx-4090"},
    {"model": "qwen3-30b-a3b", "quant": "native", "engine": "vllm", "context": 32768, "gpu": "h100-sxm", "batch": 4},
    {"model": "gemma-3-27b-it", "quant": "bf16", "engine": "transformers", "context": 8192},
]


@pytest.mark.parametrize("case", RECOMMEND_CASES, ids=lambda c: f"{c['model']}-{c['engine']}")
def test_recommendations_fit_with_headroom_and_are_minimal(case):
    r = handle({**case, "recommend_limit": 0})
    recs = r["recommendations"]
    assert recs and len({x["gpu"] for x in recs}) == len(recs)
    for rec in recs:
        assert rec["used_bytes"] <= rec["capacity_bytes"] * (1 - HEADROOM)
        check = est(**{**case, "gpu": rec["gpu"], "gpus": rec["count"]})
        assert (check["fit"]["used_bytes"], check["fit"]["capacity_bytes"]) == (rec["used_bytes"], rec["capacity_bytes"])
        assert check["fit"]["headroom_bytes"] >= check["fit"]["capacity_bytes"] * HEADROOM
    priced = [x["price_usd"] for x in recs if x["price_usd"] is not None]
    assert priced == sorted(priced)
    assert all(x["price_usd"] is None for x in recs[len(priced) :])
    for rec in recs:  # minimal: the next smaller allowed count does not fit with the headroom
        counts = COUNTS[rec["segment"]]
        i = counts.index(rec["count"])
        if i:
            smaller = handle({**case, "gpu": rec["gpu"], "gpus": counts[i - 1], "recommend": False, "curve": False})
            splits = smaller["ok"] and not any(w["code"] == "split_unsupported" for w in smaller["warnings"])
            if splits:  # a count the engine cannot split the model over is never recommended
                assert smaller["fit"]["used_bytes"] > rec["capacity_bytes"] * (1 - HEADROOM)


def test_recommendations_are_the_cheapest_that_fit():
    """70B at Q4_K_M (39.6 GiB) plus 32k of KV (10 GiB) needs three 24 GiB RTX 4090s, not two."""
    recs = handle({**RECOMMEND_CASES[0], "recommend_limit": 0})["recommendations"]
    assert [x["count"] for x in recs if x["gpu"] == "rtx-4090"] == [3]


def test_vllm_kv_capacity_in_blocks():
    """vLLM hands out KV in blocks of 16 tokens; Llama 3.1 8B keeps 2 (K, V) x 32 layers x 8 KV heads
    x 128 dims x 2 bytes (bf16) = 131,072 bytes per token (its config.json)."""
    r = est(model="llama-3.1-8b", quant="bf16", engine="vllm", context=8192, gpu="h100-sxm", gpus=1)
    assert r["kv_capacity_tokens"] % 16 == 0
    assert r["kv_capacity_tokens"] == r["kv_pool_bytes"] // 131_072 // 16 * 16
    assert r["max_concurrency"] == pytest.approx(r["kv_pool_bytes"] / (8192 * 131_072), abs=0.01)


def test_recommend_limit_keeps_the_cheapest():
    base = {"model": "qwen3-30b-a3b", "quant": "q4_k_m", "context": 8192, "curve": False}
    every = handle({**base, "recommend_limit": 0})
    top = handle({**base, "recommend_limit": 5})
    assert top["recommendations"] == every["recommendations"][:5]
    assert top["recommendations_total"] == every["recommendations_total"] == len(every["recommendations"])
