"""The "native" format counts a checkpoint as released: its whole quantization_config and torch_dtype.

One small Llama-shaped config (hidden 1,024, 2 layers, 8 heads of 128 with 2 KV heads, MLP 2,048, vocab
1,000, untied) under each quantization_config a Hub repo carries; every expectation is the byte layout
the writing library saves (calc/quant_config.py cites each), worked out per matrix by hand.
"""

from __future__ import annotations

import pytest

from calc.api import handle

TINY = {
    "model_type": "llama",
    "hidden_size": 1024,
    "num_hidden_layers": 2,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
    "intermediate_size": 2048,
    "vocab_size": 1000,
    "max_position_embeddings": 4096,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}
# (rows = output features, cols = input features) of each layer's projections
ATTENTION = [(1024, 1024), (256, 1024), (256, 1024), (1024, 1024)]  # q, k, v, o
MLP = [(2048, 1024), (2048, 1024), (1024, 2048)]  # gate, up, down
LAYERS = 2
EMBED = HEAD = 1000 * 1024
NORMS = 2 * 2 * 1024 + 1024  # two per layer + the final one


def _sum(per_matrix, mats) -> int:
    return LAYERS * sum(per_matrix(r, c) for r, c in mats)


def _rest(width: int = 2) -> int:
    """Embeddings, head and norms at torch_dtype (width bytes)."""
    return width * (EMBED + HEAD + NORMS)


def _weights(quantization_config=None, **config) -> tuple[int, list]:
    cfg = {**TINY, **config}
    if quantization_config is not None:
        cfg["quantization_config"] = quantization_config
    r = handle({"config": cfg, "quant": "native", "engine": "vllm", "context": 4096, "curve": False, "recommend": False})
    assert r["ok"], r.get("error")
    return r["memory"]["weights_bytes"], [w["code"] for w in r["warnings"]]


def gptq(bits, g):  # qweight + qzeros (bits per group and row) + fp16 scales per group and row + int32 g_idx
    return lambda r, c: r * c * bits // 8 + (c // g) * r * bits // 8 + (c // g) * r * 2 + 4 * c


def fp8_block(br, bc):
    return lambda r, c: r * c + -(-r // br) * -(-c // bc) * 4


ALL = ATTENTION + MLP
CASES = [
    ("bf16", None, {}, _sum(lambda r, c: 2 * r * c, ALL) + _rest()),
    ("float32", None, {"torch_dtype": "float32"}, _sum(lambda r, c: 4 * r * c, ALL) + _rest(4)),
    ("float64", None, {"torch_dtype": "float64"}, _sum(lambda r, c: 8 * r * c, ALL) + _rest(8)),
    ("int8 dtype", None, {"torch_dtype": "int8"}, _sum(lambda r, c: r * c, ALL) + _rest(1)),
    (
        "gptq 4-bit g128",
        {"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": False, "sym": True},
        {"torch_dtype": "float16"},
        _sum(gptq(4, 128), ALL) + _rest(),
    ),
    (
        "gptq 8-bit g32, desc_act",
        {"quant_method": "gptq", "bits": 8, "group_size": 32, "desc_act": True},
        {"torch_dtype": "float16"},
        _sum(gptq(8, 32), ALL) + _rest(),
    ),
    (
        "gptq lm_head quantized",
        {"quant_method": "gptq", "bits": 4, "group_size": 128, "lm_head": True},
        {},
        _sum(gptq(4, 128), ALL) + gptq(4, 128)(1000, 1024) + 2 * (EMBED + NORMS),
    ),
    (
        "awq 4-bit g128",
        {"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True, "version": "gemm"},
        {"torch_dtype": "float16"},
        _sum(lambda r, c: r * c // 2 + (c // 128) * r * (2 + 0.5), ALL) + _rest(),
    ),
    (
        "awq without zero points",
        {"quant_method": "awq", "w_bit": 4, "q_group_size": 64, "zero_point": False},
        {},
        _sum(lambda r, c: r * c // 2 + (c // 64) * r * 2, ALL) + _rest(),
    ),
    (
        "awq modules_to_not_convert",
        {"quant_method": "awq", "bits": 4, "group_size": 128, "modules_to_not_convert": ["self_attn"]},
        {},
        _sum(lambda r, c: 2 * r * c, ATTENTION) + _sum(lambda r, c: r * c // 2 + (c // 128) * r * 2.5, MLP) + _rest(),
    ),
    (
        "bnb nf4",
        {"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4"},
        {},
        _sum(lambda r, c: r * c // 64 * (32 + 4), ALL) + _rest(),
    ),
    (
        "bnb nf4 double quant",
        {"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True},
        {},
        _sum(lambda r, c: r * c // 64 * (32 + 1), ALL) + _rest(),
    ),
    (
        "bnb 8-bit",
        {"load_in_8bit": True},  # an old config without quant_method
        {},
        _sum(lambda r, c: r * c + 4 * r, ALL) + _rest(),
    ),
    (
        "fp8 128x128",
        {"quant_method": "fp8", "weight_block_size": [128, 128]},
        {},
        _sum(fp8_block(128, 128), ALL) + _rest(),
    ),
    (
        "fp8 [1, 1]: one float32 scale per weight",
        {"quant_method": "fp8", "weight_block_size": [1, 1]},
        {},
        _sum(lambda r, c: 5 * r * c, ALL) + _rest(),
    ),
    ("fp8 64x256", {"quant_method": "fp8", "weight_block_size": [64, 256]}, {}, _sum(fp8_block(64, 256), ALL) + _rest()),
    ("fp8 per tensor", {"quant_method": "fp8"}, {}, _sum(lambda r, c: r * c, ALL) + _rest()),
    (
        "compressed-tensors int4 group 128",
        {
            "quant_method": "compressed-tensors",
            "format": "pack-quantized",
            "config_groups": {
                "group_0": {
                    "targets": ["Linear"],
                    "weights": {"num_bits": 4, "type": "int", "strategy": "group", "group_size": 128, "symmetric": True},
                }
            },
            "ignore": ["lm_head", "re:.*down_proj"],
        },
        {},
        _sum(lambda r, c: r * c // 2 + (c // 128) * r * 2, ATTENTION + MLP[:2]) + _sum(lambda r, c: 2 * r * c, MLP[2:]) + _rest(),
    ),
    (
        "compressed-tensors fp8 per channel",
        {
            "quant_method": "compressed-tensors",
            "config_groups": {
                "group_0": {"targets": ["Linear"], "weights": {"num_bits": 8, "type": "float", "strategy": "channel"}}
            },
            "ignore": ["lm_head"],
        },
        {},
        _sum(lambda r, c: r * c + 2 * r, ALL) + _rest(),
    ),
    (
        "compressed-tensors nvfp4",
        {
            "quant_method": "compressed-tensors",
            "format": "nvfp4-pack-quantized",
            "config_groups": {
                "group_0": {
                    "targets": ["Linear"],
                    "weights": {"num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16},
                }
            },
        },
        {},
        _sum(lambda r, c: r * c // 16 * 9, ALL) + _rest(),
    ),
    (
        "modelopt nvfp4",
        {"quant_method": "modelopt", "quant_algo": "NVFP4", "group_size": 16, "exclude_modules": ["lm_head"]},
        {},
        _sum(lambda r, c: r * c // 16 * 9, ALL) + _rest(),
    ),
]


@pytest.mark.parametrize("name,quantization_config,config,expected", CASES, ids=[c[0] for c in CASES])
def test_native_weights(name, quantization_config, config, expected):
    got, warnings = _weights(quantization_config, **config)
    assert got == expected
    assert "native_quant_unknown" not in warnings and "native_dtype_unknown" not in warnings


def test_gptq_is_not_16_bit_any_more():
    """{"quant_method": "gptq", "bits": 4} alone: group 128 by default, about a quarter of BF16."""
    gptq4, _ = _weights({"quant_method": "gptq", "bits": 4})
    bf16, _ = _weights()
    assert gptq4 == _sum(gptq(4, 128), ALL) + _rest()
    assert gptq4 < bf16 / 2


@pytest.mark.parametrize(
    "quantization_config",
    [
        {"quant_method": "hqq"},
        {"quant_method": "gptq", "bits": 4, "checkpoint_format": "marlin"},
        {"quant_method": "bitsandbytes"},
        {"quant_method": "compressed-tensors", "config_groups": {"g": {"weights": {"num_bits": 4, "type": "float"}}}},
        {"quant_method": "modelopt", "quant_algo": "W4A8_AWQ"},
    ],
    ids=["hqq", "gptq-marlin", "bnb-neither", "ct-fp4-no-group", "modelopt-w4a8"],
)
def test_a_quantization_not_counted_warns(quantization_config):
    got, warnings = _weights(quantization_config)
    assert "native_quant_unknown" in warnings
    assert got == _sum(lambda r, c: 2 * r * c, ALL) + _rest()  # at torch_dtype, and said so


def test_unknown_torch_dtype_warns():
    got, warnings = _weights(torch_dtype="complex64")
    assert "native_dtype_unknown" in warnings
    assert got == _sum(lambda r, c: 2 * r * c, ALL) + _rest()


@pytest.mark.parametrize(
    "quantization_config,field",
    [
        ({"quant_method": "gptq", "bits": 5}, "config.quantization_config.bits"),
        ({"quant_method": "gptq", "bits": 4, "group_size": 0.5}, "config.quantization_config.group_size"),
        ({"quant_method": "fp8", "weight_block_size": [128]}, "config.quantization_config.weight_block_size"),
        ({"quant_method": "awq", "bits": 4, "zero_point": "yes"}, "config.quantization_config.zero_point"),
    ],
)
def test_bad_quantization_config_is_an_error_naming_the_field(quantization_config, field):
    r = handle({"config": {**TINY, "quantization_config": quantization_config}, "quant": "native", "curve": False})
    assert not r["ok"]
    assert r["error"]["field"] == field


def test_group_counts_are_exact_for_any_multiple_of_the_group():
    """MLP width 1,408 = 11 groups of 128 (Llama 2's 11,008 is 86): every group counted once, none padded."""
    mlp = [(1408, 1024), (1408, 1024), (1024, 1408)]
    got, _ = _weights({"quant_method": "gptq", "bits": 4, "group_size": 128}, intermediate_size=1408)
    assert got == _sum(gptq(4, 128), ATTENTION + mlp) + _rest()
    got, _ = _weights({"quant_method": "gptq", "bits": 3, "group_size": 128}, intermediate_size=1408)
    assert got == _sum(gptq(3, 128), ATTENTION + mlp) + _rest()
