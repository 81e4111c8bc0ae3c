"""KV cache: bytes per cached token for each layer, and how many tokens each engine caches.

Per layer and token, attention layers store K and V rows:
    GQA/MQA/MHA: K = n_kv_heads * head_dim elements, V = n_kv_heads * v_head_dim elements
    MLA latent (vLLM, llama.cpp): K = kv_lora_rank + qk_rope_head_dim (576 for DeepSeek-V3), one "head";
        llama.cpp also keeps V = kv_lora_rank beside it, vLLM does not
    MLA in transformers: the decompressed per-head K (qk_nope + qk_rope) and V (v_head_dim)
Each row costs dtype.tensor_bytes(1, elements): quantized types count whole blocks.
Linear-attention (gated delta net) and Mamba layers keep a fixed state per sequence instead:
    gated delta net: conv (kernel - 1) * (2 * key_dim + value_dim) + recurrent n_v_heads * d_k * d_v
    Mamba: conv (d_conv - 1) * d_inner + ssm d_inner * d_state
(llama.cpp llama-memory-recurrent.cpp r_l / s_l; vLLM mamba_utils state shapes.)
"""

from __future__ import annotations

from dataclasses import dataclass

from calc.architecture import CHUNKED, FULL, LINEAR, MAMBA, SLIDING, Architecture
from calc.catalog import Dtype, Engine


@dataclass(frozen=True)
class LayerKv:
    """What one layer caches: bytes per token of K and V, or bytes of state per sequence."""

    kind: str
    k_bytes_per_token: int
    v_bytes_per_token: int
    state_bytes_per_seq: int
    window: int  # tokens kept by SLIDING/CHUNKED layers (0 = all)
    shardable: bool  # split across tensor-parallel ranks by head

    @property
    def bytes_per_token(self) -> int:
        return self.k_bytes_per_token + self.v_bytes_per_token


def _attention_rows(a: Architecture, engine: Engine) -> tuple[int, int, bool]:
    """(K elements, V elements, shardable) per token of one attention layer."""
    if a.mla:
        m = a.mla
        if engine.mla_cache == "latent":
            return m.kv_lora_rank + m.qk_rope_head_dim, (m.kv_lora_rank if engine.mla_v_cached else 0), False
        return a.heads * (m.qk_nope_head_dim + m.qk_rope_head_dim), a.heads * m.v_head_dim, True
    return a.kv_heads * a.head_dim, a.kv_heads * a.v_head_dim, True


def recurrent_state_elements(a: Architecture, kind: str) -> int:
    """Elements of fixed state one sequence keeps in a LINEAR or MAMBA layer."""
    if kind == LINEAR:
        la = a.linear
        key_dim, value_dim = la.num_key_heads * la.key_head_dim, la.num_value_heads * la.value_head_dim
        return (la.conv_kernel - 1) * (2 * key_dim + value_dim) + la.num_value_heads * la.key_head_dim * la.value_head_dim
    m = a.mamba
    return (m.d_conv - 1) * m.d_inner + m.d_inner * m.d_state


def layer_kv(
    a: Architecture, engine: Engine, k_type: Dtype, v_type: Dtype, state_type: Dtype, ignore_window: bool | None = None
) -> tuple[LayerKv, ...]:
    """The cache of every layer under an engine and K/V element types.

    ignore_window: the engine caches every token of SLIDING and CHUNKED layers too.  None (until the
    engine modules pass it) means llama.cpp on a family it loads without its window
    (Architecture.llamacpp_ignores_window: Phi-3, https://github.com/ggml-org/llama.cpp/pull/13676)."""
    k_elems, v_elems, shardable = _attention_rows(a, engine)
    k_bytes = k_type.tensor_bytes(1, k_elems)
    v_bytes = v_type.tensor_bytes(1, v_elems) if v_elems else 0
    no_window = (engine.id == "llama.cpp" and a.llamacpp_ignores_window) if ignore_window is None else ignore_window
    out = []
    for kind in a.layer_kinds:
        if kind in (LINEAR, MAMBA):
            state = state_type.tensor_bytes(1, recurrent_state_elements(a, kind))
            out.append(LayerKv(kind, 0, 0, state, 0, True))
        else:
            window = a.sliding_window if kind == SLIDING else a.attention_chunk if kind == CHUNKED else 0
            out.append(LayerKv(FULL if no_window else kind, k_bytes, v_bytes, 0, 0 if no_window else window, shardable))
    return tuple(out)


def pad(n: int, to: int) -> int:
    """Round n up to a multiple of `to`."""
    return -(-n // to) * to


# ---------------------------------------------------------------------------------------------
# Cached tokens per engine.  Each returns (cells of a full layer, cells of a windowed layer of
# window w) for `context` tokens per sequence and `batch` sequences: the total over sequences.


def llamacpp_cells(context: int, batch: int, window: int, engine: Engine, ubatch: int) -> int:
    """llama.cpp unified cache: n_ctx = context * batch cells (-c counts every sequence's tokens),
    padded to 256.  Windowed layers (iswa cache) hold pad(min(n_ctx, window * batch + n_ubatch))
    cells (llama-kv-cache-iswa.cpp size_swa, unified streams).
    """
    full = pad(context * batch, engine.ctx_pad)
    if not window:
        return full
    return min(full, pad(window * batch + ubatch, engine.ctx_pad))


def vllm_cells(context: int, batch: int, window: int, engine: Engine, max_batched: int) -> int:
    """vLLM paged cache: each sequence holds ceil(context / block_size) blocks.  Sliding-window
    layers keep min(window - 1 + max_num_batched_tokens, context) tokens plus one block
    (vllm/v1/kv_cache_interface.py SlidingWindowSpec.max_memory_usage_bytes).
    """
    block = engine.block_size
    if window:
        tokens = min(window - 1 + max_batched, context)
        return batch * (pad(tokens, block) + block) if tokens < context else batch * pad(context, block)
    return batch * pad(context, block)


def transformers_cells(context: int, batch: int, window: int) -> int:
    """transformers DynamicCache: every token of every sequence; sliding layers keep the window."""
    return batch * (min(window, context) if window else context)
