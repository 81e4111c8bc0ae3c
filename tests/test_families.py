"""The family table (calc/families.py): every row holds what its model type implies, every catalog model
has a row, an unknown type gets the common decoder, and a new family is one row.

Each case below is a small config of one model type and what its transformers modeling file says the
architecture is: the expectations are written from those files, not read back from the table."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from calc import catalog, families
from calc.api import handle
from calc.architecture import CHUNKED, FULL, LINEAR, MAMBA, SLIDING, parse_config
from calc.families import DEFAULT, FAMILIES, AtOffset, EveryNth, Family, family
from calc.model import catalog_model
from calc.tensors import enumerate_tensors

BASE = {
    "hidden_size": 256,
    "num_hidden_layers": 8,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
    "intermediate_size": 512,
    "vocab_size": 1000,
    "max_position_embeddings": 131072,
}
MOE = {"num_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 128}
MLA = {"kv_lora_rank": 64, "q_lora_rank": 96, "qk_nope_head_dim": 32, "qk_rope_head_dim": 16, "v_head_dim": 32}
LINEAR_ATTN = {"linear_num_key_heads": 4, "linear_key_head_dim": 32, "linear_num_value_heads": 8, "linear_value_head_dim": 32}
S, F, C, L, M = SLIDING, FULL, CHUNKED, LINEAR, MAMBA
T, N = True, False

# model_type -> (config keys beyond BASE, expected Architecture fields; "tensors"/"no_tensors": GGUF names
# that must / must not be among the weights).
CASES = {
    "llama": ({"num_hidden_layers": 80}, {"tied_embeddings": N, "gated_mlp": T, "norms_per_layer": 2, "llamacpp_70b": T}),
    "mistral": ({"sliding_window": 64}, {"tied_embeddings": N, "layer_kinds": (S,) * 8, "sliding_window": 64}),
    "mixtral": (
        {"num_local_experts": 8, "num_experts_per_tok": 2},
        {"tied_embeddings": N, "moe_intermediate": 512, "moe_layers": (T,) * 8},
    ),
    # use_sliding_window defaults to false: the window is not used
    "qwen2": ({"sliding_window": 64}, {"tied_embeddings": N, "qkv_bias": T, "layer_kinds": (F,) * 8, "sliding_window": 0}),
    "qwen2_moe": (
        {**MOE, "shared_expert_intermediate_size": 256, "sliding_window": 64, "use_sliding_window": True},
        {"shared_intermediate": 256, "shared_expert_gate": T, "layer_kinds": (S,) * 8, "tensors": {"ffn_gate_inp_shexp"}},
    ),
    "qwen3": ({"sliding_window": 64}, {"tied_embeddings": N, "qk_norm": "head", "layer_kinds": (F,) * 8}),
    "qwen3_moe": (
        {**MOE, "decoder_sparse_step": 2, "mlp_only_layers": [3]},
        {"qk_norm": "head", "moe_intermediate": 128, "moe_layers": (N, T, N, N, N, T, N, T)},
    ),
    "qwen3_next": (
        {**MOE, **LINEAR_ATTN, "shared_expert_intermediate_size": 128},
        {"layer_kinds": (L, L, L, F) * 2, "q_gate": T, "qk_norm": "head", "shared_expert_gate": T, "tied_embeddings": N},
    ),
    "deepseek_v2": (
        {**MOE, **MLA, "first_k_dense_replace": 1, "n_shared_experts": 2},
        {"attention_family": "mla", "moe_layers": (N,) + (T,) * 7, "shared_intermediate": 256, "router_score_bias": N},
    ),
    "deepseek_v3": (
        {**MOE, **MLA, "first_k_dense_replace": 3},
        {"moe_layers": (N,) * 3 + (T,) * 5, "router_score_bias": T, "tensors": {"exp_probs_b"}, "tied_embeddings": N},
    ),
    "kimi_k2": ({**MOE, **MLA, "first_k_dense_replace": 1}, {"router_score_bias": T, "tensors": {"exp_probs_b"}}),
    "phi3": (
        {"sliding_window": 64},
        {
            "fused_qkv": T,
            "layer_kinds": (S,) * 8,
            "llamacpp_ignores_window": T,
            "tensors": {"attn_qkv"},
            "no_tensors": {"attn_q"},
        },
    ),
    "olmo2": ({}, {"qk_norm": "full", "norms_per_layer": 2, "tied_embeddings": N}),
    "glm4": ({"attention_bias": True}, {"norms_per_layer": 4, "qkv_bias": T, "o_bias": N, "tied_embeddings": T}),
    "glm4_moe": (
        {**MOE, "attention_bias": True, "first_k_dense_replace": 1},
        {"qkv_bias": T, "o_bias": N, "router_score_bias": T, "tied_embeddings": N},
    ),
    "gpt_oss": (
        {"num_local_experts": 8, "experts_per_token": 2},
        {"expert_bias": T, "attn_sinks": T, "moe_intermediate": 512, "tensors": {"attn_sinks", "ffn_gate_inp_bias"}},
    ),
    "jamba": (
        {"num_experts": 4, "num_experts_per_tok": 2},
        {"layer_kinds": (M, M, M, M, F, M, M, M), "moe_layers": (N, T) * 4, "moe_intermediate": 512, "tied_embeddings": N},
    ),
    "llama4_text": (
        {**MOE, "attention_chunk_size": 1024, "intermediate_size_mlp": 1024, "interleave_moe_layer_step": 2},
        {
            "layer_kinds": (C, C, C, F) * 2,
            "attention_chunk": 1024,
            "position": "rope+nope",
            "intermediate": 1024,
            "moe_intermediate": 512,
            "shared_intermediate": 512,
            "moe_layers": (N, T) * 4,
            "tied_embeddings": N,
        },
    ),
    "llama4": (
        {**MOE, "attention_chunk_size": 1024, "no_rope_layers": [1, 1, 0, 1, 1, 1, 0, 1]},
        {"layer_kinds": (C, C, F, C, C, C, F, C), "intermediate": 512, "shared_intermediate": 512, "tied_embeddings": T},
    ),
    "minimax": ({**MOE}, {"moe_intermediate": 512, "tied_embeddings": T}),
    "minimax_m2": ({**MOE}, {"moe_intermediate": 512, "tied_embeddings": N}),
    # the old decoder: multi-query, one LayerNorm, plain GELU MLP of 4 x hidden, ALiBi when asked
    "falcon": (
        {"intermediate_size": None, "alibi": True, "bias": True},
        {
            "kv_heads": 1,
            "norms_per_layer": 1,
            "gated_mlp": N,
            "norm": "layernorm",
            "norm_has_bias": T,
            "fused_qkv": T,
            "activation": "gelu",
            "intermediate": 1024,
            "position": "alibi",
            "qkv_bias": T,
            "mlp_bias": T,
            "no_tensors": {"ffn_gate"},
            "tensors": {"norm0_bias"},
        },
    ),
    "gemma2": ({"sliding_window": 64}, {"layer_kinds": (S, F) * 4, "norms_per_layer": 4, "tied_embeddings": T}),
    "gemma3": ({"sliding_window": 64}, {"layer_kinds": (S,) * 5 + (F, S, S), "norms_per_layer": 4, "qk_norm": "head"}),
    "gemma3_text": ({"sliding_window_pattern": 2}, {"layer_kinds": (S, F) * 4, "sliding_window": 4096}),
    "cohere": ({}, {"norms_per_layer": 1, "norm": "layernorm", "norm_has_bias": N, "tied_embeddings": T}),
    # two-matrix MLPs with biases everywhere (modeling_gpt2.py, modeling_gpt_bigcode.py, ...)
    "gpt2": (
        {"intermediate_size": None, "max_position_embeddings": None, "n_positions": 1024},
        {"intermediate": 1024, "gated_mlp": N, "learned_positions": 1024, "fused_qkv": T, "o_bias": T, "mlp_bias": T},
    ),
    "gpt_bigcode": (
        {"intermediate_size": None, "n_inner": 768, "num_key_value_heads": None},
        {"kv_heads": 1, "intermediate": 768, "position": "learned", "tensors": {"position_embd", "norm1_bias"}},
    ),
    # attention_bias false drops the attention biases only; the MLP keeps its own
    "gpt_neox": ({"attention_bias": False}, {"tied_embeddings": N, "fused_qkv": T, "qkv_bias": N, "o_bias": N, "mlp_bias": T}),
    "opt": (
        {"intermediate_size": None, "ffn_dim": 640, "word_embed_proj_dim": 128, "enable_bias": False},
        {"intermediate": 640, "embed_dim": 128, "learned_positions": 131074, "qkv_bias": N, "tensors": {"project_in"}},
    ),
    "phi": ({}, {"norms_per_layer": 1, "head_bias": T, "tied_embeddings": N, "tensors": {"output_bias"}}),
    "starcoder2": (
        {"sliding_window": 64, "use_bias": False},
        {"layer_kinds": (S,) * 8, "qkv_bias": N, "o_bias": N, "norm_has_bias": T, "gated_mlp": N},
    ),
}


def _config(model_type: str, changes: dict) -> dict:
    cfg = {**BASE, "model_type": model_type, **changes}
    return {k: v for k, v in cfg.items() if v is not None}


def _check(a, expected: dict) -> None:
    tensors = {t.name for t in enumerate_tensors(a)}
    for key, value in expected.items():
        if key == "tensors":
            assert value <= tensors, value - tensors
        elif key == "no_tensors":
            assert not value & tensors, value & tensors
        else:
            assert getattr(a, key) == value, key


def test_every_row_has_a_case():
    """Each row of the table is exercised below (and each case names a row)."""
    assert set(CASES) == set(FAMILIES)


@pytest.mark.parametrize("model_type", sorted(CASES))
def test_family_row_shapes_the_architecture(model_type):
    changes, expected = CASES[model_type]
    a = parse_config(_config(model_type, changes))
    assert a.model_type == model_type
    _check(a, expected)


def test_every_catalog_model_has_a_row():
    missing = {m: catalog_model(m).arch.model_type for m in catalog.models()}
    assert {m: t for m, t in missing.items() if t not in FAMILIES} == {}


def test_multimodal_config_reads_its_text_config_row():
    """Llama 4 and Gemma 3 repos keep the language model under text_config, with its own model type."""
    changes, expected = CASES["llama4_text"]
    outer = {"model_type": "llama4", "tie_word_embeddings": False, "text_config": _config("llama4_text", changes)}
    a = parse_config(outer)
    assert (a.model_type, a.multimodal) == ("llama4_text", True)
    _check(a, expected)


@pytest.mark.parametrize("model_type", ["brand_new_lm", "", "LlamaForCausalLM"])
def test_unknown_model_type_gets_the_default_row(model_type):
    """An unlisted type is the common decoder with PretrainedConfig's defaults: tied, gated, two
    RMSNorms, and a sliding window whenever the config gives one."""
    cfg = _config("brand_new_lm", {"sliding_window": 64, "num_hidden_layers": 80})
    if model_type != "brand_new_lm":  # no model_type: read from architectures, or llama without it
        del cfg["model_type"]
        cfg["architectures"] = [model_type] if model_type else []
    a = parse_config(cfg)
    expected_row = DEFAULT if model_type == "brand_new_lm" else FAMILIES["llama"]
    assert family(a.model_type) is expected_row
    if expected_row is DEFAULT:
        _check(a, {"tied_embeddings": T, "gated_mlp": T, "norms_per_layer": 2, "layer_kinds": (S,) * 80, "llamacpp_70b": N})


def test_alias_row_parses_like_its_family(monkeypatch):
    """A model type that reuses an existing family's shape is one row: here a Qwen2 fine-tune type."""
    monkeypatch.setitem(families.FAMILIES, "qwen2_custom", FAMILIES["qwen2"])
    cfg = _config("qwen2", {"sliding_window": 64})
    alias = parse_config({**cfg, "model_type": "qwen2_custom"})
    assert alias != parse_config({**cfg, "model_type": "brand_new_lm"})
    assert dataclasses.replace(alias, model_type="qwen2") == parse_config(cfg)


def test_new_row_of_existing_shapes(monkeypatch):
    """StarCoder2 (modeling_starcoder2.py): a plain c_fc/c_proj MLP, LayerNorm with bias, a sliding window."""
    row = Family(sources=families._hf("starcoder2"), gated_mlp=False, norm="layernorm", norm_bias=True)
    monkeypatch.setitem(families.FAMILIES, "starcoder2", row)
    a = parse_config(_config("starcoder2", {"sliding_window": 64, "hidden_act": "gelu_pytorch_tanh"}))
    _check(
        a,
        {"gated_mlp": N, "norm": "layernorm", "layer_kinds": (S,) * 8, "tensors": {"norm1_bias"}, "no_tensors": {"ffn_gate"}},
    )


BAD_ROWS = [
    {"sources": ()},
    {"norm": "batchnorm"},
    {"qk_norm": "per_token"},
    {"position": "absolute"},
    {"expert_width": "moe_width"},
    {"norms_per_layer": 0},
    {"layer_pattern": EveryNth(FULL, "dense", 2)},
    {"layer_pattern": AtOffset(True, False, "p", 2, "o", 1)},
    {"moe_layers": EveryNth(FULL, SLIDING, 2)},
]


@pytest.mark.parametrize("fields", BAD_ROWS, ids=lambda f: next(iter(f)))
def test_bad_row_is_refused(fields):
    with pytest.raises(ValueError, match="family"):
        Family(**{"sources": families._hf("llama"), **fields})


def test_every_row_cites_a_source():
    assert all(row.sources and all(s.startswith("https://") for s in row.sources) for row in FAMILIES.values())


def _estimate(cfg: dict, engine: str, quant: str = "f16") -> dict:
    out = handle({"config": cfg, "engine": engine, "quant": quant, "context": 65536, "recommend": False, "curve": False})
    assert out["ok"], out
    return out["memory"]


def test_llamacpp_70b_rule_follows_the_flag():
    """llama-quant.cpp gives an LLM_TYPE_70B's attn_v a larger type at Q4_K_M: an 80-layer llama GGUF is
    larger than the same tensors of a type llama.cpp does not classify by layer count."""
    cfg = _config("llama", {"num_hidden_layers": 80, "tie_word_embeddings": False})
    other = {**cfg, "model_type": "brand_new_lm"}
    assert _estimate(cfg, "llama.cpp", "q4_k_m")["weights_bytes"] > _estimate(other, "llama.cpp", "q4_k_m")["weights_bytes"]
    assert _estimate(cfg, "llama.cpp", "f16")["weights_bytes"] == _estimate(other, "llama.cpp", "f16")["weights_bytes"]


def test_llamacpp_ignores_phi3_window():
    """llama.cpp caches every token of Phi-3 (PR 13676) but keeps Mistral's window; vLLM keeps both."""
    for model_type, llamacpp_windowed in (("phi3", False), ("mistral", True)):
        windowed, full = _config(model_type, {"sliding_window": 64}), _config(model_type, {})
        for engine, keeps in (("llama.cpp", llamacpp_windowed), ("vllm", True)):
            smaller = _estimate(windowed, engine)["kv_cache_bytes"] < _estimate(full, engine)["kv_cache_bytes"]
            assert smaller == keeps, (model_type, engine)


def test_cases_do_not_share_state():
    """The table is immutable: parsing cannot change a row."""
    before = copy.deepcopy(FAMILIES)
    for model_type, (changes, _) in CASES.items():
        parse_config(_config(model_type, changes))
    assert before == FAMILIES
    with pytest.raises(dataclasses.FrozenInstanceError):
        FAMILIES["llama"].tied_default = True


def test_a_text_config_without_model_type_takes_the_outer_one():
    """Gemma 3 4B's config.json names its type only outside text_config: the language model is still
    Gemma 3's (every 6th layer full attention: 5 of 34), not Llama with every layer sliding."""
    config = {
        "architectures": ["Gemma3ForConditionalGeneration"],
        "model_type": "gemma3",
        "text_config": {
            "hidden_size": 2560,
            "intermediate_size": 10240,
            "num_hidden_layers": 34,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "head_dim": 256,
            "sliding_window": 1024,
            "vocab_size": 262208,
        },
    }
    answer = handle({"config": config, "quant": "native", "recommend": False})
    assert answer["model"]["spec"]["attention_layers"] == {"full": 5, "sliding": 29}
    assert answer["kv_cache_bytes_per_token"] == 5 * 2 * 4 * 256 * 2
