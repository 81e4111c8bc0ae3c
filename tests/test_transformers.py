"""transformers' generate(): the prompt and the generated tokens as separate inputs, and the rules of
each release (calc/engines/transformers.py), against hand-computed bytes."""

from __future__ import annotations

import pytest

from calc.api import handle

# Llama 3.1 8B: n_embd 4096, MLP 14336, vocabulary 128256, 32 layers x 8 KV heads x 128 x 2 (K, V) x 2 bytes
LAYER_PASS = 3 * 4096 + 3 * 14336  # 16-bit values per token through a layer: 55,296 (x 2 bytes)
LAYER_KV = 8 * 128 * 2 * 2  # bytes per token of one layer's cache
LLAMA2_13B = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 5120,
    "intermediate_size": 13824,
    "max_position_embeddings": 4096,
    "num_attention_heads": 40,
    "num_hidden_layers": 40,
    "num_key_value_heads": 40,
    "tie_word_embeddings": False,
    "torch_dtype": "float16",
    "vocab_size": 32000,
}


def _memory(**fields) -> dict:
    base = {"model": "llama-3.1-8b", "engine": "transformers", "quant": "bf16", "gpu": None, "curve": False, "recommend": False}
    if "config" in fields:
        del base["model"]
    r = handle({**base, **fields})
    assert r["ok"], r.get("error")
    return r


def test_whole_context_as_prompt_is_one_prefill():
    """No split: the prefill of every token, and the last position's float32 logits."""
    r = _memory(context=4096)
    assert r["memory"]["activations_bytes"] == 4096 * LAYER_PASS * 2 + 128256 * 4
    assert r["request"]["prompt_tokens"] is None and r["request"]["new_tokens"] is None


def test_one_prompt_token_and_30k_generated_is_the_last_decode_step():
    """1 + 30,000 tokens: the cache of 30,001 tokens and one token's step, with the torch.cat copy of
    one layer's cache (30,001 x 4,096 bytes), never a 30k-token prefill."""
    r = _memory(prompt_tokens=1, new_tokens=30000)
    assert r["request"]["context"] == 30001
    assert r["memory"]["kv_cache_bytes"] == 32 * LAYER_KV * 30001
    assert r["memory"]["activations_bytes"] == LAYER_PASS * 2 + 128256 * 4 + LAYER_KV * 30001
    whole = _memory(context=30001)["memory"]["activations_bytes"]
    assert whole == 30001 * LAYER_PASS * 2 + 128256 * 4 > 25 * r["memory"]["activations_bytes"]


def test_long_prompt_short_generation_peaks_in_the_prefill():
    """30,000 + 10: the prefill with a cache of 30,000 tokens is higher than the last step."""
    r = _memory(prompt_tokens=30000, new_tokens=10)
    prefill = 30000 * LAYER_PASS * 2 + 128256 * 4
    assert r["memory"]["activations_bytes"] == prefill - 32 * LAYER_KV * 10


def test_any_two_lengths_set_the_third():
    assert _memory(context=5000, prompt_tokens=1000)["request"]["new_tokens"] == 4000
    assert _memory(context=5000, new_tokens=1000)["request"]["prompt_tokens"] == 4000
    assert _memory(context=1500, prompt_tokens=1000, new_tokens=500)["request"]["context"] == 1500


@pytest.mark.parametrize(
    "fields, code, field",
    [
        ({"context": 100, "prompt_tokens": 101}, "out_of_range", "prompt_tokens"),
        ({"context": 100, "new_tokens": 100}, "out_of_range", "new_tokens"),
        ({"context": 100, "prompt_tokens": 10, "new_tokens": 10}, "conflicting_fields", "context"),
        ({"prompt_tokens": 0}, "out_of_range", "prompt_tokens"),
        ({"new_tokens": -1}, "out_of_range", "new_tokens"),
        ({"prompt_tokens": 2**25, "new_tokens": 1}, "out_of_range", "new_tokens"),
    ],
)
def test_lengths_that_do_not_add_up_are_errors_naming_the_field(fields, code, field):
    r = handle({"model": "llama-3.1-8b", "engine": "transformers", **fields})
    assert (r["ok"], r["error"]["code"], r["error"]["field"]) == (False, code, field)


def test_before_4_42_a_decode_step_holds_the_cache_twice():
    """Llama 2 13B (MHA: 819,200 KV bytes per token), 16 x (512 + 512), 4.0 rules: the last step holds
    the old tuple of 1,024 tokens beside the new cache, and 16-bit plus float32 logits of 16 rows."""
    base = {"config": LLAMA2_13B, "quant": "fp16", "batch": 16, "prompt_tokens": 512, "new_tokens": 512}
    old = _memory(**base, engine_version="4.0")["memory"]
    step = 16 * (3 * 5120 + 3 * 13824) * 2 + 16 * 32000 * 6
    assert old["activations_bytes"] == step + 16 * 1024 * 819_200
    new = _memory(**base)["memory"]
    layer_copy = 16 * 1024 * 2 * 5120 * 2
    assert new["activations_bytes"] == 16 * (3 * 5120 + 3 * 13824) * 2 + 16 * 32000 * 4 + layer_copy


def test_before_4_45_the_prefill_computes_every_positions_logits():
    """Llama 2 13B, 8 x 512 prompt tokens, 1 new: the head's 16-bit and float32 logits of 4,096 rows
    (after the layers have freed theirs) outweigh the layers' working memory."""
    base = {"config": LLAMA2_13B, "quant": "fp16", "batch": 8, "prompt_tokens": 512, "new_tokens": 1}
    old = _memory(**base, engine_version="4.42")["memory"]
    assert old["activations_bytes"] == 4096 * 5120 * 2 + 4096 * 32000 * 6
    assert _memory(**base)["memory"]["activations_bytes"] == 4096 * (3 * 5120 + 3 * 13824) * 2 + 8 * 32000 * 4


def test_bitsandbytes_4bit_dequantizes_the_widest_matrix_on_more_than_one_row():
    """NF4 at float32 compute: the widest matrix (4096 x 14336) in 16 bits and in float32; a decode
    step of one sequence runs gemv on the packed weight."""
    dequant = 4096 * 14336 * (2 + 4)
    prefill = _memory(quant="nf4", context=2048)["memory"]["activations_bytes"]
    assert prefill == 2048 * LAYER_PASS * 2 + 128256 * 4 + dequant
    decode = _memory(quant="nf4", prompt_tokens=1, new_tokens=2047)["memory"]["activations_bytes"]
    assert decode == LAYER_PASS * 2 + 128256 * 4 + LAYER_KV * 2048


def test_prefill_time_counts_the_prompt_only():
    a = _memory(context=8192, gpu="h100-sxm", gpus=1)["speed"]["prefill_seconds"]
    b = _memory(prompt_tokens=1024, new_tokens=7168, gpu="h100-sxm", gpus=1)["speed"]["prefill_seconds"]
    assert b < a / 7


@pytest.mark.parametrize(
    ("lang", "text"), [("en", "30,001 tokens (1 prompt + 30,000 generated)"), ("zh", "30,001 token（提示词 1 + 生成 30,000）")]
)
def test_summary_names_the_prompt_and_the_generated_tokens(lang, text):
    r = handle(
        {"op": "view", "lang": lang, "model": "llama-3.1-8b", "engine": "transformers", "prompt_tokens": 1, "new_tokens": 30000}
    )
    assert text in r["view"]["text"]["summary"]
