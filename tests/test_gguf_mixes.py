"""The GGUF file types added in issue 13 (IQ3_XS, IQ3_S, IQ2_S, IQ1_M, Q4_1, Q5_1, TQ1_0, TQ2_0,
MXFP4_MOE and bartowski's _L/_XL files): the storage type llama-quantize gives each tensor, read off
llama_tensor_get_type (src/llama-quant.cpp), and which of them may be the best format that fits."""

from __future__ import annotations

import pytest

from calc import catalog
from calc.api import handle
from calc.formats import tensor_types
from calc.model import catalog_model


def _types(model_id: str, quant: str) -> dict[tuple[str, int], str]:
    m = catalog_model(model_id)
    types = tensor_types(m.arch, catalog.formats()[quant], m.tensors)
    return {(t.name, t.layer): d.id for t, d in zip(m.tensors, types, strict=True)}


# (model, format, tensor name, layer, storage type).  Llama-3.1-8B: 32 layers, 32 query heads over 8 KV
# heads (n_gqa 4), untied output; Qwen3-30B-A3B: 48 layers, 128 experts; the "middle" layers of
# IQ3_XS are 32/8 = 4 <= i < 7*32/8 = 28.
CASES = [
    ("llama-3.1-8b", "iq3_xs", "attn_q", 0, "iq3_xxs"),  # IQ3_XS: attn_q -> IQ3_XXS
    ("llama-3.1-8b", "iq3_xs", "attn_k", 5, "iq3_xxs"),
    ("llama-3.1-8b", "iq3_xs", "attn_v", 5, "q4_k"),  # n_gqa >= 4
    ("llama-3.1-8b", "iq3_xs", "ffn_gate", 3, "iq3_s"),  # first eighth keeps the base type
    ("llama-3.1-8b", "iq3_xs", "ffn_gate", 4, "iq3_xxs"),
    ("llama-3.1-8b", "iq3_xs", "ffn_up", 27, "iq3_xxs"),
    ("llama-3.1-8b", "iq3_xs", "ffn_up", 28, "iq3_s"),  # last eighth keeps the base type
    ("llama-3.1-8b", "iq3_xs", "ffn_down", 10, "iq3_s"),
    ("llama-3.1-8b", "iq3_xs", "output", -1, "q6_k"),
    ("llama-3.1-8b", "iq3_xs", "token_embd", -1, "iq3_s"),
    ("llama-3.1-8b", "iq3_s", "attn_q", 0, "iq3_s"),
    ("llama-3.1-8b", "iq3_s", "attn_v", 0, "q4_k"),
    ("llama-3.1-70b", "iq3_s", "attn_v", 0, "q5_k"),  # the 70B bump of a Q4_K attn_v
    ("llama-3.1-8b", "iq2_s", "ffn_gate", 0, "iq2_xs"),  # IQ2_S's base type is IQ2_XS
    ("llama-3.1-8b", "iq2_s", "token_embd", -1, "iq3_s"),
    ("llama-3.1-8b", "iq2_s", "ffn_down", 3, "iq3_s"),  # first eighth
    ("llama-3.1-8b", "iq2_s", "output", -1, "q5_k"),
    ("llama-3.1-8b", "iq1_m", "ffn_up", 0, "iq1_m"),
    ("llama-3.1-8b", "iq1_m", "attn_output", 0, "iq2_xxs"),
    ("llama-3.1-8b", "q4_1", "attn_q", 0, "q4_1"),
    ("llama-3.1-8b", "q4_1", "output", -1, "q6_k"),
    ("llama-3.1-8b", "q5_1", "ffn_down", 0, "q5_1"),
    ("llama-3.1-8b", "tq1_0", "ffn_up", 0, "tq1_0"),
    ("llama-3.1-8b", "tq1_0", "token_embd", -1, "q4_k"),
    ("llama-3.1-8b", "tq2_0", "attn_q", 0, "tq2_0"),
    ("llama-3.1-8b", "q4_k_l", "token_embd", -1, "q8_0"),  # --token-embedding-type q8_0
    ("llama-3.1-8b", "q4_k_l", "output", -1, "q8_0"),  # --output-tensor-type q8_0
    ("llama-3.1-8b", "q4_k_l", "attn_v", 0, "q6_k"),  # the rest is Q4_K_M's mix
    ("llama-3.1-8b", "q4_k_l", "ffn_gate", 0, "q4_k"),
    ("llama-3.1-8b", "q3_k_xl", "ffn_down", 9, "q5_k"),  # Q3_K_L's ffn_down
    ("llama-3.1-8b", "q6_k_l", "output", -1, "q8_0"),
    ("qwen3-30b-a3b", "mxfp4_moe", "ffn_gate_exps", 0, "mxfp4"),  # experts (ne[2] > 1) MXFP4
    ("qwen3-30b-a3b", "mxfp4_moe", "ffn_down_exps", 47, "mxfp4"),
    ("qwen3-30b-a3b", "mxfp4_moe", "attn_q", 0, "q8_0"),  # every other quantized tensor Q8_0
    ("qwen3-30b-a3b", "mxfp4_moe", "output", -1, "q8_0"),
    ("qwen3-30b-a3b", "mxfp4_moe", "token_embd", -1, "q8_0"),
    ("qwen3-30b-a3b", "mxfp4_moe", "ffn_gate_inp", 0, "f32"),  # the router is never quantized
    # DeepSeek-V3: 61 blocks (3 dense, 58 MoE with a shared expert: 119 ffn_down tensors).  Q4_K_M puts
    # ffn_down in Q6_K where use_more_bits(layer, 61): layer < 61/8 = 7, layer >= 7*61/8 = 53, or
    # (layer - 7) % 3 == 2; llama-quant.cpp's n_ffn_down is the block count, not the 119 tensors (with
    # 119: 16 would be Q6_K, (16 - 14) % 3 == 2, and 54 Q4_K).
    ("deepseek-v3", "q4_k_m", "ffn_down", 1, "q6_k"),  # a dense layer, first eighth
    ("deepseek-v3", "q4_k_m", "ffn_down_exps", 16, "q4_k"),  # (16 - 7) % 3 == 0
    ("deepseek-v3", "q4_k_m", "ffn_down_shexp", 16, "q4_k"),  # both tensors of a layer alike
    ("deepseek-v3", "q4_k_m", "ffn_down_exps", 12, "q6_k"),  # (12 - 7) % 3 == 2
    ("deepseek-v3", "q4_k_m", "ffn_down_exps", 54, "q6_k"),  # last eighth: 54 >= 53
    ("deepseek-v3", "q4_k_m", "ffn_down_shexp", 54, "q6_k"),
]


@pytest.mark.parametrize("model,quant,name,layer,dtype", CASES, ids=[f"{c[1]}-{c[2]}-{c[3]}-{c[0]}" for c in CASES])
def test_tensor_type(model, quant, name, layer, dtype):
    assert _types(model, quant)[(name, layer)] == dtype


def test_mxfp4_moe_only_for_mixtures_of_experts():
    def offered(model):
        return [f["id"] for f in handle({"model": model, "engine": "llama.cpp", "recommend": False})["format_sizes"]]

    assert "mxfp4_moe" in offered("qwen3-30b-a3b")
    assert "mxfp4_moe" not in offered("llama-3.1-8b")


# (format, why it is never the best format that fits)
NOT_SUGGESTED = [
    ("q3_k_xl", "outweighs IQ4_XS through its Q8_0 embeddings and output, yet is a Q3"),
    ("q4_k_l", "the same layers as Q4_K_M"),
    ("q4_1", "larger than Q4_K_M at a higher perplexity"),
    ("q5_1", "larger than Q5_K_M at a higher perplexity"),
    ("tq1_0", "ternary: only for ternary-trained models"),
    ("tq2_0", "ternary: only for ternary-trained models"),
]


@pytest.mark.parametrize("quant,why", NOT_SUGGESTED, ids=[r[0] for r in NOT_SUGGESTED])
def test_never_the_best_format(quant, why):
    assert not catalog.formats()[quant].suggest, why
    for model, gpu, n in (("llama-3.1-8b", "rtx-4090", 1), ("qwen2.5-72b", "rtx-4090", 2), ("llama-3.1-8b", "t4", 1)):
        r = handle({"model": model, "engine": "llama.cpp", "gpu": gpu, "gpus": n, "context": 8192})
        assert r["best_format"] != quant


def test_unknown_quant_iq3_xs_is_known_now():
    """The issue's example: --quant IQ3_XS answered "unknown quant"."""
    r = handle({"model": "llama-3.1-8b", "quant": "iq3_xs", "engine": "llama.cpp", "context": 4096})
    assert r["ok"] and r["format"]["id"] == "iq3_xs"
