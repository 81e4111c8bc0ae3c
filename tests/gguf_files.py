"""GGUF files written by the tests, byte by byte as ggml/docs/gguf.md lays them out (the `gguf`
package from PyPI is not needed): a writer, and small model files with real tensor type codes."""

from __future__ import annotations

import struct

from calc.gguf import BLOCKS, TYPE_CODES


class U64(int):
    """A metadata whole number written as u64 (plain ints are written as u32, as convert_hf_to_gguf.py does)."""


def _str(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def value(v) -> bytes:
    """The value type id and bytes of a metadata value: int -> u32 or i32 (U64 -> u64), float -> f32, str,
    bool, and lists of strings, bools or ints (i32)."""
    if isinstance(v, bool):
        return struct.pack("<I?", 7, v)
    if isinstance(v, U64):
        return struct.pack("<IQ", 10, v)
    if isinstance(v, int):
        return struct.pack("<II", 4, v) if v >= 0 else struct.pack("<Ii", 5, v)
    if isinstance(v, float):
        return struct.pack("<If", 6, v)
    if isinstance(v, str):
        return struct.pack("<I", 8) + _str(v)
    if v and all(isinstance(x, str) for x in v):
        return struct.pack("<IIQ", 9, 8, len(v)) + b"".join(_str(x) for x in v)
    if v and all(isinstance(x, bool) for x in v):
        return struct.pack("<IIQ", 9, 7, len(v)) + struct.pack(f"<{len(v)}?", *v)
    return struct.pack("<IIQ", 9, 5, len(v)) + struct.pack(f"<{len(v)}i", *v)


def nbytes(dims: tuple, kind: str) -> int:
    block, size = BLOCKS[kind]
    n = 1
    for d in dims:
        n *= d
    return n // block * size


def write(
    metadata: dict, tensors: list[tuple[str, tuple, str]], version: int = 3, alignment: int = 32, data: bool = True
) -> bytes:
    """A GGUF file: the metadata, then tensors (name, dims, type) laid out one after another,
    aligned; data=False leaves the tensor data out (the header is all the calculator reads)."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(metadata))
    for key, v in metadata.items():
        out += _str(key) + value(v)
    offset, blobs = 0, []
    for name, dims, kind in tensors:
        out += _str(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        out += struct.pack("<IQ", TYPE_CODES[kind], offset)
        n = nbytes(dims, kind)
        pad = -n % alignment
        if data:
            blobs.append(b"\0" * (n + pad))
        offset += n + pad
    return out + b"\0" * (-len(out) % alignment) + b"".join(blobs)


def llama_tensors(
    layers: int, hidden: int, ffn: int, vocab: int, heads: int, kv_heads: int, head_dim: int, tied=False, qk_norm=False
):
    """A llama-style file's tensors with a Q4_K_M-like mix: Q6_K attn_v and ffn_down, Q4_K elsewhere,
    F32 norms, Q6_K output, Q4_K embeddings."""
    out = [("token_embd.weight", (hidden, vocab), "Q4_K")]
    for i in range(layers):
        b = f"blk.{i}."
        out += [
            (b + "attn_norm.weight", (hidden,), "F32"),
            (b + "attn_q.weight", (hidden, heads * head_dim), "Q4_K"),
            (b + "attn_k.weight", (hidden, kv_heads * head_dim), "Q4_K"),
            (b + "attn_v.weight", (hidden, kv_heads * head_dim), "Q6_K"),
            (b + "attn_output.weight", (heads * head_dim, hidden), "Q4_K"),
            (b + "ffn_norm.weight", (hidden,), "F32"),
            (b + "ffn_gate.weight", (hidden, ffn), "Q4_K"),
            (b + "ffn_up.weight", (hidden, ffn), "Q4_K"),
            (b + "ffn_down.weight", (ffn, hidden), "Q6_K"),
        ]
        if qk_norm:
            out += [(b + "attn_q_norm.weight", (head_dim,), "F32"), (b + "attn_k_norm.weight", (head_dim,), "F32")]
    out.append(("output_norm.weight", (hidden,), "F32"))
    if not tied:
        out.append(("output.weight", (hidden, vocab), "Q6_K"))
    return out


# A llama-like file: 2 layers, hidden 256, 4 heads of 64, MHA (4 KV heads), FFN 512, vocabulary 1,000.
LLAMA_META = {
    "general.architecture": "llama",
    "general.name": "Tiny Llama",
    "general.file_type": 15,  # Q4_K_M
    "llama.block_count": 2,
    "llama.context_length": 4096,
    "llama.embedding_length": 256,
    "llama.feed_forward_length": 512,
    "llama.attention.head_count": 4,
    "llama.attention.head_count_kv": 4,
    "llama.rope.freq_base": 500000.0,
    "llama.attention.layer_norm_rms_epsilon": 1e-5,
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.tokens": [f"t{i}" for i in range(1000)],
}
LLAMA_TENSORS = llama_tensors(2, 256, 512, 1000, 4, 4, 64)

# A Gemma 3 file: 6 layers (five sliding, every sixth global), hidden 256, 4 heads of 128 with 2 KV
# heads (GQA), window 512, per-layer head_count_kv as an array, tied embeddings.
GEMMA3_META = {
    "general.architecture": "gemma3",
    "general.file_type": 7,  # Q8_0
    "gemma3.block_count": 6,
    "gemma3.context_length": 131072,
    "gemma3.embedding_length": 256,
    "gemma3.feed_forward_length": 1024,
    "gemma3.attention.head_count": 4,
    "gemma3.attention.head_count_kv": [2] * 6,
    "gemma3.attention.key_length": 128,
    "gemma3.attention.value_length": 128,
    "gemma3.attention.sliding_window": 512,
    "gemma3.rope.scaling.type": "linear",
    "gemma3.rope.scaling.factor": 8.0,
}
GEMMA3_TENSORS = [
    (n, d, "Q8_0" if k not in ("F32",) else k) for n, d, k in llama_tensors(6, 256, 1024, 512, 4, 2, 128, tied=True, qk_norm=True)
]


def catalog_as_gguf(model_id: str, arch: str, quant: str = "q4_k_m", file_type: int = 15) -> bytes:
    """The header of the GGUF llama.cpp would make of a catalog model at `quant`: its architecture
    written in llama.cpp's metadata keys, and every tensor the calculator counts for it, each in the
    type the calculator's replay of llama-quantize gives it (calc/formats.py tensor_types)."""
    from calc import catalog
    from calc.formats import file_tensors, tensor_types
    from calc.model import catalog_model

    m = catalog_model(model_id)
    a = m.arch
    meta = {
        "general.architecture": arch,
        "general.name": m.name,
        "general.file_type": file_type,
        f"{arch}.block_count": a.layers + a.gguf_mtp_blocks,  # GLM-4.5: the NextN block counted
        f"{arch}.context_length": a.max_context,
        f"{arch}.embedding_length": a.hidden,
        f"{arch}.feed_forward_length": a.intermediate,
        f"{arch}.attention.head_count": a.heads,
        f"{arch}.attention.head_count_kv": a.kv_heads,
    }
    if a.mla:
        meta |= {
            f"{arch}.attention.kv_lora_rank": a.mla.kv_lora_rank,
            f"{arch}.rope.dimension_count": a.mla.qk_rope_head_dim,
            f"{arch}.attention.key_length": a.mla.qk_nope_head_dim + a.mla.qk_rope_head_dim,
            f"{arch}.attention.value_length": a.mla.v_head_dim,
        }
        if a.mla.q_lora_rank:
            meta[f"{arch}.attention.q_lora_rank"] = a.mla.q_lora_rank
    else:
        meta |= {f"{arch}.attention.key_length": a.head_dim, f"{arch}.attention.value_length": a.v_head_dim}
    if a.sliding_window:
        meta[f"{arch}.attention.sliding_window"] = a.sliding_window
    if a.experts:
        meta |= {f"{arch}.expert_count": a.experts, f"{arch}.expert_used_count": a.experts_active}
        meta[f"{arch}.expert_feed_forward_length"] = a.moe_intermediate
        if a.mla or arch == "glm4moe":
            meta[f"{arch}.leading_dense_block_count"] = a.moe_layers.index(True)
            meta[f"{arch}.expert_shared_count"] = a.shared_intermediate // a.moe_intermediate
        elif a.shared_intermediate:
            meta[f"{arch}.expert_shared_feed_forward_length"] = a.shared_intermediate
    if a.gguf_mtp_blocks:
        meta[f"{arch}.nextn_predict_layers"] = a.gguf_mtp_blocks
    stored = file_tensors(a, m.tensors, catalog.formats()[quant])
    types = tensor_types(a, catalog.formats()[quant], stored)
    tensors = []
    for t, d in zip(stored, types, strict=True):
        dims = (t.cols,) if t.rows == 1 and t.count == 1 else (t.cols, t.rows) if t.count == 1 else (t.cols, t.rows, t.count)
        if t.rows == 1 and t.count > 1:
            dims = (t.cols, t.count)
        base, suffix = (t.name[:-5], "bias") if t.name.endswith("_bias") else (t.name, "weight")
        suffix = "bias" if t.name == "exp_probs_b" else suffix
        name = f"blk.{t.layer}.{base}.{suffix}" if t.layer >= 0 else f"{base}.{suffix}"
        tensors.append((name, dims, d.id.upper()))
    return write(meta, tensors, data=False)


# A llama.cpp mmproj file (convert_hf_to_gguf.py --mmproj): general.architecture "clip", a vision block and
# the projector; F16 tensors: 2 x (64 x 64) + 256 x 64 elements, 2 bytes each = 49,152 bytes.
MMPROJ_META = {"general.architecture": "clip", "clip.projector_type": "gemma3", "clip.has_vision_encoder": True}
MMPROJ_TENSORS = [
    ("v.blk.0.attn_q.weight", (64, 64), "F16"),
    ("v.blk.0.attn_k.weight", (64, 64), "F16"),
    ("mm.input_projection.weight", (64, 256), "F16"),
]
MMPROJ_BYTES = 49_152
