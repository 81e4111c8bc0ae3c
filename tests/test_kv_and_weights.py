"""Hand-computed KV-cache and weight sizes, one row per case.

Each expectation is written as the arithmetic that produces it (layers x heads x head_dim x ...),
worked out from the model's config.json, so a reader can check it without running anything.
"""

from __future__ import annotations

import pytest

from calc.api import handle

GIB = 2**30


def estimate(**request) -> dict:
    answer = handle({"curve": False, "recommend": False, "gpu": None, **request})
    assert answer["ok"], answer.get("error")
    return answer


# (model, engine, kv type, bytes per token of context over the full-attention layers)
KV_PER_TOKEN = [
    # Qwen3-Coder-480B: 62 layers x 8 KV heads x head_dim 128 x (K+V) x 2 bytes
    ("qwen3-coder-480b-a35b-instruct", "llama.cpp", "f16", 62 * 8 * 128 * 2 * 2),
    ("qwen3-coder-480b-a35b-instruct", "vllm", "auto", 253_952),
    # Llama 3.1 8B: 32 x 8 x 128 x 2 x 2
    ("llama-3.1-8b", "llama.cpp", "f16", 32 * 8 * 128 * 2 * 2),
    # Llama 3.1 70B: 80 x 8 x 128 x 2 x 2
    ("llama-3.1-70b", "vllm", "auto", 80 * 8 * 128 * 2 * 2),
    # Qwen3-8B: 36 x 8 x 128 x 2 x 2 (head_dim 128 from config, not 4096/32)
    ("qwen3-8b", "transformers", "auto", 36 * 8 * 128 * 2 * 2),
    # Qwen3-0.6B: head_dim 128 although hidden / heads = 1024 / 16 = 64: 28 x 8 x 128 x 2 x 2
    ("qwen3-0.6b", "llama.cpp", "f16", 28 * 8 * 128 * 2 * 2),
    # DeepSeek-V3 MLA latent (vLLM): 61 layers x (kv_lora_rank 512 + qk_rope 64) x 2 bytes
    ("deepseek-v3", "vllm", "auto", 61 * 576 * 2),
    # ... llama.cpp (V-less MLA cache): the same latent
    ("deepseek-v3", "llama.cpp", "f16", 61 * 576 * 2),
    # ... fp8 cache under vLLM: one byte per element
    ("deepseek-v3", "vllm", "fp8", 61 * 576),
    # ... transformers decompresses: 61 x 128 heads x (K 192 + V 128) x 2
    ("deepseek-v3", "transformers", "auto", 61 * 128 * (192 + 128) * 2),
    # Gemma 3 27B: only every 6th of 62 layers is global (10 layers): 10 x 16 x 128 x 2 x 2
    ("gemma-3-27b-it", "llama.cpp", "f16", 10 * 16 * 128 * 2 * 2),
    # Gemma 2 9B: odd layers global, 21 of 42: 21 x 8 x 256 x 2 x 2
    ("gemma-2-9b-it", "llama.cpp", "f16", 21 * 8 * 256 * 2 * 2),
    # gpt-oss-120b: layer_types alternate sliding/full, 18 of 36 full: 18 x 8 x 64 x 2 x 2
    ("gpt-oss-120b", "llama.cpp", "f16", 18 * 8 * 64 * 2 * 2),
    # Qwen3-Next: 12 of 48 layers are full attention: 12 x 2 x 256 x 2 x 2
    ("qwen3-next-80b-a3b-instruct", "vllm", "auto", 12 * 2 * 256 * 2 * 2),
    # Jamba: attention every 8th layer from 4 (4 of 32): 4 x 8 x 128 x 2 x 2
    ("jamba-v0.1", "transformers", "auto", 4 * 8 * 128 * 2 * 2),
    # Llama 4 Scout: 12 of 48 layers global (NoPE), the rest chunked: 12 x 8 x 128 x 2 x 2
    ("llama-4-scout-17b-16e-instruct", "llama.cpp", "f16", 12 * 8 * 128 * 2 * 2),
    # Falcon-7B old decoder: multi-query, one KV head of 64: 32 x 1 x 64 x 2 x 2
    ("falcon-7b", "transformers", "auto", 32 * 1 * 64 * 2 * 2),
    # q8_0 blocks: 32 elements in 34 bytes; a 1024-wide row is 32 blocks: 32 layers x 2 x 32 x 34
    ("llama-3.1-8b", "llama.cpp", "q8_0", 32 * 2 * 32 * 34),
    # q4_0: 32 elements in 18 bytes
    ("llama-3.1-8b", "llama.cpp", "q4_0", 32 * 2 * 32 * 18),
    # q5_1: 32 elements in 24 bytes
    ("llama-3.1-8b", "llama.cpp", "q5_1", 32 * 2 * 32 * 24),
    # f32: 4 bytes
    ("llama-3.1-8b", "llama.cpp", "f32", 32 * 2 * 1024 * 4),
]


@pytest.mark.parametrize("model,engine,kv,expected", KV_PER_TOKEN, ids=[f"{r[0]}-{r[1]}-{r[2]}" for r in KV_PER_TOKEN])
def test_kv_bytes_per_token(model, engine, kv, expected):
    r = estimate(model=model, engine=engine, kv_cache=kv, quant="native" if engine != "llama.cpp" else "q8_0", context=4096)
    assert r["kv_cache_bytes_per_token"] == expected


def test_qwen3_coder_kv_at_256k_is_62_gib():
    r = estimate(model="qwen3-coder-480b-a35b-instruct", quant="q4_k_m", engine="llama.cpp", kv_cache="f16", context=262144)
    assert r["memory"]["kv_cache_bytes"] == 253_952 * 262_144 == 62 * GIB


# (model, engine, context, batch, kv type, total KV bytes): the engine's own cell counting.
KV_TOTAL = [
    # llama.cpp pads n_ctx to 256: 1000 tokens -> 1024 cells
    ("llama-3.1-8b", "llama.cpp", 1000, 1, "f16", 1024 * 131_072),
    # -c counts all sequences' tokens: 4 x 4096 cells
    ("llama-3.1-8b", "llama.cpp", 4096, 4, "f16", 4 * 4096 * 131_072),
    # vLLM blocks of 16 tokens: 1000 -> 63 blocks = 1008 tokens per sequence, 2 sequences
    ("llama-3.1-8b", "vllm", 1000, 2, "auto", 2 * 1008 * 131_072),
    # transformers: exactly the tokens
    ("llama-3.1-8b", "transformers", 1000, 1, "auto", 1000 * 131_072),
    # Gemma 3 27B in llama.cpp at 32k: 10 global layers x 32768 cells, 52 sliding layers x
    # pad(1024 window + 512 ubatch, 256) = 1536 cells; 16 x 128 x 2 x 2 = 8192 bytes per layer-token
    ("gemma-3-27b-it", "llama.cpp", 32768, 1, "f16", (10 * 32768 + 52 * 1536) * 8192),
    # Qwen3-Next: 12 full layers x 8192 x 2048 bytes + 36 linear layers of fixed state, bf16 under
    # vLLM: conv (4-1) x (2*16*128 + 32*128) + recurrent 32 x 128 x 128 elements
    (
        "qwen3-next-80b-a3b-instruct",
        "vllm",
        8192,
        1,
        "auto",
        12 * 8192 * 2048 + 36 * (3 * (2 * 16 * 128 + 32 * 128) + 32 * 128 * 128) * 2,
    ),
    # ... llama.cpp keeps the recurrent state in F32
    (
        "qwen3-next-80b-a3b-instruct",
        "llama.cpp",
        8192,
        1,
        "f16",
        12 * 8192 * 2048 + 36 * (3 * (2 * 16 * 128 + 32 * 128) + 32 * 128 * 128) * 4,
    ),
]


@pytest.mark.parametrize(
    "model,engine,context,batch,kv,expected", KV_TOTAL, ids=[f"{r[0]}-{r[1]}-{r[2]}x{r[3]}" for r in KV_TOTAL]
)
def test_kv_total_bytes(model, engine, context, batch, kv, expected):
    r = estimate(model=model, engine=engine, kv_cache=kv, quant="bf16", context=context, batch=batch)
    assert r["memory"]["kv_cache_bytes"] == expected


# (model, format, engine, weight bytes on the GPU)
WEIGHTS = [
    # Llama 3.1 8B has 8,030,261,248 parameters; BF16 under transformers keeps them all at 2 bytes
    ("llama-3.1-8b", "bf16", "transformers", 8_030_261_248 * 2),
    ("llama-3.1-8b", "fp32", "transformers", 8_030_261_248 * 4),
    # Q8_0 in llama.cpp: 2-D tensors at 34 bytes per 32, the 65 norm vectors (4096) in F32, and
    # the 128256 x 4096 token embedding stays in system RAM
    ("llama-3.1-8b", "q8_0", "llama.cpp", (8_030_261_248 - 65 * 4096 - 128_256 * 4096) * 34 // 32 + 65 * 4096 * 4),
]


@pytest.mark.parametrize("model,quant,engine,expected", WEIGHTS, ids=[f"{r[0]}-{r[1]}-{r[2]}" for r in WEIGHTS])
def test_weight_bytes(model, quant, engine, expected):
    assert estimate(model=model, quant=quant, engine=engine, context=1024)["memory"]["weights_bytes"] == expected


def test_moe_weights_follow_total_and_speed_follows_active():
    """Qwen3-30B-A3B: BF16 weights are total x 2 bytes; decode reads about active x 2 bytes."""
    r = handle(
        {
            "model": "qwen3-30b-a3b",
            "quant": "bf16",
            "engine": "transformers",
            "context": 1024,
            "gpu": "h100-sxm",
            "gpus": 1,
            "curve": False,
            "recommend": False,
        }
    )
    assert r["memory"]["weights_bytes"] == r["model"]["total_params"] * 2
    read = 3.35e12 / r["speed"]["decode_tokens_per_s"]  # bytes per step at the H100 SXM's 3.35 TB/s
    # active parameters less the input embedding (one row is looked up, 151936 x 2048 not read),
    # at 2 bytes, plus the KV of 1024 tokens (48 layers x 4 KV heads x 128 x 2 x 2 bytes)
    expected = (r["model"]["active_params"] - 151_936 * 2048) * 2 + 1024 * 48 * 4 * 128 * 2 * 2
    assert read == pytest.approx(expected, rel=0.002)


def _fp8_block(rows: int, cols: int) -> int:
    """FP8 with 128x128 block scales: one byte per weight + a float32 per (started) 128x128 block."""
    return rows * cols + -(-rows // 128) * -(-cols // 128) * 4


def test_minimax_m2_native_is_fp8_with_block_scales():
    """MiniMax-M2 as released: attention and experts in FP8 with 128x128 scales, the rest BF16."""
    attention = _fp8_block(6144, 3072) + 2 * _fp8_block(1024, 3072) + _fp8_block(3072, 6144)
    experts = 256 * (2 * _fp8_block(1536, 3072) + _fp8_block(3072, 1536))
    bf16 = 2 * (256 * 3072 + 2 * 3072 + 2 * 128)  # router, two norms, q and k norms (head_dim)
    total = 62 * (attention + experts + bf16) + 2 * (2 * 200064 * 3072 + 3072)  # embeddings, head, final norm
    r = estimate(model="minimax-m2", quant="native", engine="vllm", context=4096)
    assert r["memory"]["weights_bytes"] == total == 230_023_192_576
    assert r["model"]["spec"]["context_length"] == 196_608


def test_gpt_oss_native_keeps_experts_in_mxfp4():
    """gpt-oss-120b as released: MXFP4 experts (4.25 bits), the rest BF16; about 60.8 GiB (OpenAI's table)."""
    r = estimate(model="gpt-oss-120b", quant="native", engine="vllm", context=1024)
    assert abs(r["memory"]["weights_bytes"] / GIB - 60.8) / 60.8 < 0.03
    gguf = estimate(model="gpt-oss-120b", quant="q4_k_m", engine="llama.cpp", context=1024)
    q8 = estimate(model="gpt-oss-120b", quant="q8_0", engine="llama.cpp", context=1024)
    # Every GGUF keeps the experts in MXFP4, so Q8_0 and Q4_K_M differ only in the small dense part.
    assert q8["memory"]["weights_bytes"] / gguf["memory"]["weights_bytes"] < 1.1


def test_llamacpp_compute_buffer_formula():
    """Llama 3.1 8B, n_ubatch 512, 8192 cells, flash attention: the logits phase is the largest,
    (128256 x 512 + 2 x 4096 x 512) x 4 bytes, plus the F16 KQ mask alive throughout, 8192 x 512 x 2."""
    r = estimate(model="llama-3.1-8b", quant="q4_k_m", engine="llama.cpp", context=8192)
    assert r["memory"]["activations_bytes"] == (128_256 * 512 + 2 * 4096 * 512) * 4 + 8192 * 512 * 2
