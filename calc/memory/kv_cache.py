"""KV cache: bytes per cached token for each layer (how many tokens an engine caches is its own rule,
in calc/engines/).

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
from typing import TYPE_CHECKING

from calc.architecture import CHUNKED, FULL, LINEAR, MAMBA, SLIDING, Architecture
from calc.catalog import Dtype

if TYPE_CHECKING:
    from calc.engines import Engine


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


def attention_rows(a: Architecture, engine: Engine) -> tuple[int, int, bool]:
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


def layer_kv(a: Architecture, engine: Engine, k_type: Dtype, v_type: Dtype, state_type: Dtype) -> tuple[LayerKv, ...]:
    """The cache of every layer under an engine and K/V element types."""
    k_elems, v_elems, shardable = attention_rows(a, engine)
    k_bytes = k_type.tensor_bytes(1, k_elems)
    v_bytes = v_type.tensor_bytes(1, v_elems) if v_elems else 0
    no_window = engine.ignores_window(a)
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
