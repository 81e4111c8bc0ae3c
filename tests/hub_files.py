"""Hub repos written by the tests: config.json and safetensors headers laid out as the safetensors
format lays them (8 bytes little-endian header length, then JSON), without the tensor data."""

from __future__ import annotations

import json
import struct

BITS = {"BF16": 16, "F16": 16, "F32": 32, "F8_E4M3": 8, "I32": 32, "U8": 8, "F64": 64}

# Qwen/Qwen3-4B's config.json (the published one's architecture keys).
QWEN3_4B = {
    "architectures": ["Qwen3ForCausalLM"],
    "model_type": "qwen3",
    "hidden_size": 2560,
    "intermediate_size": 9728,
    "num_hidden_layers": 36,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 151936,
    "max_position_embeddings": 40960,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000,
}

# Its safetensors total: 36 layers of (q 2560x4096 + k, v 2560x1024 + o 4096x2560 + gate, up, down
# 3 x 2560x9728 + norms 2 x 2560 + q_norm, k_norm 2 x 128) = 100,930,816 elements, the embedding
# 151,936 x 2,560 = 388,956,160 and the final norm 2,560, all BF16 (2 bytes): 8,044,936,192 bytes,
# the "total_size" of Qwen/Qwen3-4B's model.safetensors.index.json.
QWEN3_4B_BYTES = 8_044_936_192
QWEN3_4B_LAYER_BYTES = 201_861_632
QWEN3_4B_EMBED_BYTES = 777_912_320


def header(tensors: list[tuple[str, str, list[int]]], metadata: dict | None = None, pad: int = 0) -> bytes:
    """The first bytes of a safetensors file: its header (tensors laid end to end from offset 0)."""
    body, at = {}, 0
    if metadata is not None:
        body["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        n = 1
        for d in shape:
            n *= d
        size = -(-n * BITS[dtype] // 8)
        body[name] = {"dtype": dtype, "shape": shape, "data_offsets": [at, at + size]}
        at += size
    raw = json.dumps(body).encode() + b" " * pad
    return struct.pack("<Q", len(raw)) + raw


def raw_header(body: dict | bytes) -> bytes:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return struct.pack("<Q", len(raw)) + raw


def llama_like_tensors(cfg: dict, dtype: str = "BF16", fp8: bool = False) -> list[tuple[str, str, list[int]]]:
    """transformers' tensor names of a Llama/Qwen3 decoder (q_norm/k_norm for qwen3); fp8: linear
    weights in F8_E4M3 with one F32 scale per 128x128 block (weight_scale_inv), as FP8 releases."""
    h, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    d = cfg.get("head_dim") or h // cfg["num_attention_heads"]
    q, kv = cfg["num_attention_heads"] * d, cfg["num_key_value_heads"] * d
    out = [("model.embed_tokens.weight", dtype, [v, h])]

    def linear(name, rows, cols):
        if not fp8:
            out.append((name + ".weight", dtype, [rows, cols]))
            return
        out.append((name + ".weight", "F8_E4M3", [rows, cols]))
        out.append((name + ".weight_scale_inv", "F32", [-(-rows // 128), -(-cols // 128)]))

    for n in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{n}."
        linear(p + "self_attn.q_proj", q, h)
        linear(p + "self_attn.k_proj", kv, h)
        linear(p + "self_attn.v_proj", kv, h)
        linear(p + "self_attn.o_proj", h, q)
        if cfg.get("model_type") == "qwen3":
            out += [(p + "self_attn.q_norm.weight", dtype, [d]), (p + "self_attn.k_norm.weight", dtype, [d])]
        linear(p + "mlp.gate_proj", i, h)
        linear(p + "mlp.up_proj", i, h)
        linear(p + "mlp.down_proj", h, i)
        out += [(p + "input_layernorm.weight", dtype, [h]), (p + "post_attention_layernorm.weight", dtype, [h])]
    out.append(("model.norm.weight", dtype, [h]))
    if not cfg.get("tie_word_embeddings"):
        out.append(("lm_head.weight", dtype, [v, h]))
    return out


def shards(tensors: list, n: int, stem: str = "model") -> tuple[dict[str, bytes], dict]:
    """The tensors in n shard files (transformers' names: model-00001-of-0000N.safetensors) and the
    model.safetensors.index.json that maps them."""
    per = -(-len(tensors) // n)
    files, weight_map = {}, {}
    for k in range(n):
        name = f"{stem}-{k + 1:05d}-of-{n:05d}.safetensors"
        part = tensors[k * per : (k + 1) * per]
        files[name] = header(part, {"format": "pt"})
        weight_map.update({t[0]: name for t in part})
    return files, {"metadata": {"total_size": 0}, "weight_map": weight_map}
