"""GPT-2, StarCoder (gpt_bigcode), GPT-NeoX/Pythia, OPT, Phi-2 and StarCoder2 from their published config.json.

Each count is written as the sum of the model's tensors, from its transformers modeling file (two MLP
matrices, a bias on every projection, LayerNorms with biases, learned position tables where the family
has one), and checked against the publisher's parameter count.  The configs are the published files'
size keys (https://huggingface.co/<repo>/blob/main/config.json).
"""

from __future__ import annotations

import pytest

from calc.api import handle
from calc.architecture import parse_config
from calc.tensors import count_params, enumerate_tensors

CONFIGS = {
    "gpt2": {
        "model_type": "gpt2",
        "architectures": ["GPT2LMHeadModel"],
        "n_embd": 768,
        "n_layer": 12,
        "n_head": 12,
        "n_positions": 1024,
        "n_ctx": 1024,
        "n_inner": None,
        "vocab_size": 50257,
        "activation_function": "gelu_new",
    },
    "bigcode/starcoder": {
        "model_type": "gpt_bigcode",
        "architectures": ["GPTBigCodeForCausalLM"],
        "n_embd": 6144,
        "n_layer": 40,
        "n_head": 48,
        "n_inner": 24576,
        "n_positions": 8192,
        "vocab_size": 49152,
        "multi_query": True,
        "activation_function": "gelu_pytorch_tanh",
    },
    "EleutherAI/pythia-6.9b": {
        "model_type": "gpt_neox",
        "architectures": ["GPTNeoXForCausalLM"],
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "intermediate_size": 16384,
        "vocab_size": 50432,
        "max_position_embeddings": 2048,
        "rotary_pct": 0.25,
        "use_parallel_residual": True,
        "tie_word_embeddings": False,
        "torch_dtype": "float16",
    },
    "facebook/opt-6.7b": {
        "model_type": "opt",
        "architectures": ["OPTForCausalLM"],
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "ffn_dim": 16384,
        "vocab_size": 50272,
        "max_position_embeddings": 2048,
        "word_embed_proj_dim": 4096,
        "do_layer_norm_before": True,
        "torch_dtype": "float16",
    },
    "microsoft/phi-2": {
        "model_type": "phi",
        "architectures": ["PhiForCausalLM"],
        "hidden_size": 2560,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "intermediate_size": 10240,
        "vocab_size": 51200,
        "max_position_embeddings": 2048,
        "partial_rotary_factor": 0.4,
        "hidden_act": "gelu_new",
        "tie_word_embeddings": False,
        "torch_dtype": "float16",
    },
    "bigcode/starcoder2-15b": {
        "model_type": "starcoder2",
        "architectures": ["Starcoder2ForCausalLM"],
        "hidden_size": 6144,
        "num_hidden_layers": 40,
        "num_attention_heads": 48,
        "num_key_value_heads": 4,
        "intermediate_size": 24576,
        "vocab_size": 49152,
        "max_position_embeddings": 16384,
        "sliding_window": 4096,
        "use_bias": True,
        "norm_type": "layer_norm",
        "torch_dtype": "float32",
    },
}


def _layernorm(h: int) -> int:
    return 2 * h  # weight and bias


# GPT-2: wte 50257 x 768 (tied to lm_head) + wpe 1024 x 768 + 12 x (c_attn 768 x 2304 + 2304, c_proj
# 768 x 768 + 768, c_fc 768 x 3072 + 3072, c_proj 3072 x 768 + 768, ln_1, ln_2) + ln_f.
GPT2 = (
    50257 * 768
    + 1024 * 768
    + 12 * (768 * 2304 + 2304 + 768 * 768 + 768 + 768 * 3072 + 3072 + 3072 * 768 + 768 + 2 * _layernorm(768))
    + _layernorm(768)
)
# StarCoder: MQA c_attn emits 6144 + 2 x 128; wpe of 8192 rows; tied.
STARCODER = (
    49152 * 6144
    + 8192 * 6144
    + 40 * (6144 * 6400 + 6400 + 6144 * 6144 + 6144 + 2 * 6144 * 24576 + 24576 + 6144 + 2 * _layernorm(6144))
    + _layernorm(6144)
)
# Pythia-6.9B: embed_in and embed_out 50432 x 4096, fused qkv with bias, dense, two MLP matrices with biases.
PYTHIA = (
    2 * 50432 * 4096
    + 32 * (4096 * 3 * 4096 + 3 * 4096 + 4096 * 4096 + 4096 + 2 * 4096 * 16384 + 16384 + 4096 + 2 * _layernorm(4096))
    + _layernorm(4096)
)
# OPT-6.7B: embed_tokens (tied) + embed_positions of 2048 + 2 rows, q/k/v/out with biases, fc1/fc2 with biases.
OPT = (
    50272 * 4096
    + 2050 * 4096
    + 32 * (4 * (4096 * 4096 + 4096) + 2 * 4096 * 16384 + 16384 + 4096 + 2 * _layernorm(4096))
    + _layernorm(4096)
)
# Phi-2: q/k/v/dense with biases, fc1/fc2 with biases, one input_layernorm, final_layernorm, lm_head with bias.
PHI2 = (
    51200 * 2560
    + 32 * (4 * (2560 * 2560 + 2560) + 2 * 2560 * 10240 + 10240 + 2560 + _layernorm(2560))
    + _layernorm(2560)
    + 51200 * 2560
    + 51200
)
# StarCoder2-15B: q 6144 x 6144, k and v 512 x 6144, all with biases; tied (PretrainedConfig default).
STARCODER2 = (
    49152 * 6144
    + 40
    * (6144 * 6144 + 6144 + 2 * (512 * 6144 + 512) + 6144 * 6144 + 6144 + 2 * 6144 * 24576 + 24576 + 6144 + 2 * _layernorm(6144))
    + _layernorm(6144)
)

# (repo, hand count, published count, its source, tolerance)
COUNTS = [
    # 124,439,808: the count the GPT-2 small checkpoint is known by ("124M", the model card's size)
    ("gpt2", GPT2, 124_439_808, "https://huggingface.co/openai-community/gpt2 (124M parameters)", 0.0),
    ("bigcode/starcoder", STARCODER, 15.5e9, "https://huggingface.co/bigcode/starcoder (15.5B parameter models)", 0.01),
    # the Pythia paper, Table 1: 6,857,302,016 parameters for the 6.9B model
    ("EleutherAI/pythia-6.9b", PYTHIA, 6_857_302_016, "https://arxiv.org/abs/2304.01373 Table 1", 0.0),
    ("facebook/opt-6.7b", OPT, 6.7e9, "https://arxiv.org/abs/2205.01068 Table 1 (6.7B)", 0.01),
    # "2.7 billion" is the name; the checkpoint's tensors add up to 2.78B (the model page's figure)
    ("microsoft/phi-2", PHI2, 2.78e9, "https://huggingface.co/microsoft/phi-2 (2.78B params)", 0.01),
    # no exact published count found: whether the 15B checkpoint ties its head is not in the keys
    # verified here (tied, the PretrainedConfig default: 15.66B; untied 15.96B, both "15B")
    ("bigcode/starcoder2-15b", STARCODER2, None, "", 0.0),
]


@pytest.mark.parametrize("repo,hand,published,source,tolerance", COUNTS, ids=[c[0] for c in COUNTS])
def test_parameter_count(repo, hand, published, source, tolerance):
    a = parse_config(CONFIGS[repo])
    total = count_params(a, enumerate_tensors(a)).total
    assert total == hand
    if published is not None:
        assert abs(total - published) <= tolerance * published, (total, published, source)


# (repo, KV bytes per token at 16 bits: layers x K+V x kv heads x head_dim x 2 bytes, window)
KV = [
    ("gpt2", 12 * 2 * 12 * 64 * 2, 0),
    ("bigcode/starcoder", 40 * 2 * 1 * 128 * 2, 0),  # multi-query: one KV head
    ("EleutherAI/pythia-6.9b", 32 * 2 * 32 * 128 * 2, 0),
    ("facebook/opt-6.7b", 32 * 2 * 32 * 128 * 2, 0),
    ("microsoft/phi-2", 32 * 2 * 32 * 80 * 2, 0),
    ("bigcode/starcoder2-15b", 40 * 2 * 4 * 128 * 2, 4096),  # every layer slides over 4,096 tokens
]


@pytest.mark.parametrize("repo,per_token,window", KV, ids=[k[0] for k in KV])
def test_kv_cache(repo, per_token, window):
    r = handle(
        {"config": CONFIGS[repo], "quant": "fp16", "engine": "transformers", "context": 2048, "curve": False, "recommend": False}
    )
    assert r["ok"], r.get("error")
    # kv_cache_bytes_per_token counts the full-attention layers; StarCoder2's all slide
    assert r["kv_cache_bytes_per_token"] == (0 if window else per_token)
    assert r["memory"]["kv_cache_bytes"] == 2048 * per_token
    a = parse_config(CONFIGS[repo])
    assert a.sliding_window == window
    assert not a.gated_mlp


def test_starcoder2_window_caps_the_transformers_cache():
    """transformers keeps sliding_window tokens per layer: at 8,192 tokens, 4,096 x 81,920 bytes."""
    r = handle(
        {"config": CONFIGS["bigcode/starcoder2-15b"], "quant": "fp16", "engine": "transformers", "context": 8192}
        | {"curve": False, "recommend": False}
    )
    assert r["memory"]["kv_cache_bytes"] == 4096 * 40 * 2 * 4 * 128 * 2


def test_weights_at_16_bits_are_two_bytes_per_parameter():
    r = handle(
        {"config": CONFIGS["gpt2"], "quant": "fp16", "engine": "vllm", "context": 1024, "curve": False, "recommend": False}
    )
    assert r["ok"], r.get("error")
    assert r["memory"]["weights_bytes"] == 2 * GPT2


def test_opt_350m_projects_its_embeddings():
    """OPT-350m: 512-wide embeddings, project_in 512 -> 1024 and project_out 1024 -> 512 (no biases)."""
    cfg = {**CONFIGS["facebook/opt-6.7b"], "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16}
    cfg.update(ffn_dim=4096, word_embed_proj_dim=512)
    a = parse_config(cfg)
    names = {t.name: t for t in enumerate_tensors(a)}
    assert (names["token_embd"].rows, names["token_embd"].cols) == (50272, 512)
    assert names["project_in"].elements == names["project_out"].elements == 512 * 1024
