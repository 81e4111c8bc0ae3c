"""Architecture -> the weight tensors of the model, and the parameter counts they add up to.

Tensor names follow GGUF's (token_embd, blk.N.attn_q, ffn_down_exps, ...) because llama.cpp's
quantization rules key on them; the same list serves every other format.  Shapes follow the
Hugging Face modeling_*.py files of each family.  Multi-token-prediction layers are left out:
neither llama.cpp nor vLLM allocates them unless speculative decoding is asked for, and the
official parameter counts leave them out (DeepSeek-V3: 671B + 14B MTP).  gguf_mtp_tensors gives the
blocks a GGUF file holds all the same (GLM-4.5), for the file's size and llama.cpp's layer count.
"""

from __future__ import annotations

from dataclasses import dataclass

from calc.architecture import LINEAR, MAMBA, Architecture

# Tensor kinds, used by the non-GGUF formats: what gets quantized and what stays 16-bit.
LINEAR_W, EMBED, HEAD, OTHER = "linear", "embed", "head", "other"


@dataclass(frozen=True)
class Tensor:
    """One weight tensor (or `count` identical ones, e.g. the experts of a layer)."""

    name: str  # GGUF base name, e.g. "attn_v" or "ffn_down_exps"
    layer: int  # -1 outside the decoder layers
    rows: int  # output features
    cols: int  # input features: ggml's ne[0], the row length blocks are cut along
    kind: str  # LINEAR_W / EMBED / HEAD / OTHER
    count: int = 1
    expert: bool = False  # a routed expert's weight (only top-k of `experts` run per token)

    @property
    def elements(self) -> int:
        return self.rows * self.cols * self.count


def _vec(name: str, layer: int, n: int, count: int = 1, expert: bool = False) -> Tensor:
    return Tensor(name, layer, 1, n, OTHER, count, expert)


def _mat(name: str, layer: int, rows: int, cols: int, count: int = 1, expert: bool = False) -> Tensor:
    return Tensor(name, layer, rows, cols, LINEAR_W, count, expert)


def _attention(a: Architecture, i: int) -> list[Tensor]:
    """Self-attention projections of one layer (GQA/MQA/MHA, or MLA)."""
    h, hd, vd = a.hidden, a.head_dim, a.v_head_dim
    q_out, kv_out = a.heads * hd, a.kv_heads * hd
    if a.mla:
        m = a.mla
        out = []
        if m.q_lora_rank:
            out += [
                _mat("attn_q_a", i, m.q_lora_rank, h),
                _vec("attn_q_a_norm", i, m.q_lora_rank),
                _mat("attn_q_b", i, a.heads * hd, m.q_lora_rank),
            ]
        else:
            out.append(_mat("attn_q", i, a.heads * hd, h))
        out += [
            _mat("attn_kv_a_mqa", i, m.kv_lora_rank + m.qk_rope_head_dim, h),
            _vec("attn_kv_a_norm", i, m.kv_lora_rank),
            _mat("attn_kv_b", i, a.heads * (m.qk_nope_head_dim + vd), m.kv_lora_rank),
            _mat("attn_output", i, h, a.heads * vd),
        ]
        return out
    q_rows = q_out * (2 if a.q_gate else 1)
    if a.fused_qkv:
        out = [_mat("attn_qkv", i, q_rows + 2 * kv_out, h)]
    else:
        out = [_mat("attn_q", i, q_rows, h), _mat("attn_k", i, kv_out, h), _mat("attn_v", i, a.kv_heads * vd, h)]
    out.append(_mat("attn_output", i, h, a.heads * vd))
    if a.qkv_bias:
        out.append(_vec("attn_qkv_bias", i, q_rows + kv_out + a.kv_heads * vd))
    if a.o_bias:
        out.append(_vec("attn_output_bias", i, h))
    if a.qk_norm == "head":
        out += [_vec("attn_q_norm", i, hd), _vec("attn_k_norm", i, hd)]
    elif a.qk_norm == "full":
        out += [_vec("attn_q_norm", i, q_out), _vec("attn_k_norm", i, kv_out)]
    if a.attn_sinks:
        out.append(_vec("attn_sinks", i, a.heads))
    return out


def _linear_attention(a: Architecture, i: int) -> list[Tensor]:
    """Qwen3-Next gated delta net (modeling_qwen3_next.py Qwen3NextGatedDeltaNet)."""
    la = a.linear
    key_dim, value_dim = la.num_key_heads * la.key_head_dim, la.num_value_heads * la.value_head_dim
    conv_dim = 2 * key_dim + value_dim
    return [
        _mat("ssm_in", i, 2 * key_dim + 2 * value_dim, a.hidden),  # in_proj_qkvz
        _mat("ssm_beta_alpha", i, 2 * la.num_value_heads, a.hidden),  # in_proj_ba
        Tensor("ssm_conv1d", i, conv_dim, la.conv_kernel, OTHER),
        _vec("ssm_dt", i, la.num_value_heads),
        _vec("ssm_a", i, la.num_value_heads),
        _vec("ssm_norm", i, la.value_head_dim),
        _mat("ssm_out", i, a.hidden, value_dim),
    ]


def _mamba(a: Architecture, i: int) -> list[Tensor]:
    """Jamba's Mamba mixer (modeling_jamba.py JambaMambaMixer)."""
    m = a.mamba
    return [
        _mat("ssm_in", i, 2 * m.d_inner, a.hidden),
        Tensor("ssm_conv1d", i, m.d_inner, m.d_conv, OTHER),
        _vec("ssm_conv1d_bias", i, m.d_inner),
        _mat("ssm_x", i, m.dt_rank + 2 * m.d_state, m.d_inner),
        _mat("ssm_dt", i, m.d_inner, m.dt_rank),
        _vec("ssm_dt_bias", i, m.d_inner),
        Tensor("ssm_a", i, m.d_inner, m.d_state, OTHER),
        _vec("ssm_d", i, m.d_inner),
        _vec("ssm_dt_norm", i, m.dt_rank),
        _vec("ssm_b_norm", i, m.d_state),
        _vec("ssm_c_norm", i, m.d_state),
        _mat("ssm_out", i, a.hidden, m.d_inner),
    ]


def _dense_mlp(a: Architecture, i: int, width: int, suffix: str = "") -> list[Tensor]:
    out = [_mat("ffn_up" + suffix, i, width, a.hidden), _mat("ffn_down" + suffix, i, a.hidden, width)]
    if a.gated_mlp:
        out.insert(0, _mat("ffn_gate" + suffix, i, width, a.hidden))
    if a.mlp_bias:
        out.append(_vec("ffn_bias" + suffix, i, width * (2 if a.gated_mlp else 1) + a.hidden))
    return out


def _moe(a: Architecture, i: int) -> list[Tensor]:
    """Router, routed experts, shared experts of one MoE layer."""
    e, w, h = a.experts, a.moe_intermediate, a.hidden
    out = [Tensor("ffn_gate_inp", i, e, h, OTHER)]  # the router stays unquantized in every format
    if a.expert_bias:
        out.append(_vec("ffn_gate_inp_bias", i, e))
    elif a.router_score_bias:
        out.append(_vec("exp_probs_b", i, e))  # e_score_correction_bias
    out += [
        _mat("ffn_gate_exps", i, w, h, e, True),
        _mat("ffn_up_exps", i, w, h, e, True),
        _mat("ffn_down_exps", i, h, w, e, True),
    ]
    if a.expert_bias:
        out += [_vec("ffn_up_gate_exps_bias", i, 2 * w, e, True), _vec("ffn_down_exps_bias", i, h, e, True)]
    if a.shared_intermediate:
        out += _dense_mlp(a, i, a.shared_intermediate, "_shexp")
        if a.shared_expert_gate:
            out.append(Tensor("ffn_gate_inp_shexp", i, 1, h, OTHER))
    return out


def enumerate_tensors(a: Architecture) -> tuple[Tensor, ...]:
    """Every weight tensor of the language model, in file order."""
    width = a.embed_dim or a.hidden
    out = [Tensor("token_embd", -1, a.vocab, width, EMBED)]
    if a.learned_positions:  # GPT-2 wpe, OPT embed_positions: one row per position
        out.append(Tensor("position_embd", -1, a.learned_positions, a.hidden, EMBED))
    if a.embed_dim:  # OPT project_in / project_out between the embedding width and hidden (no bias)
        out.append(_mat("project_in", -1, a.hidden, a.embed_dim))
    norm_len = a.hidden
    for i in range(a.layers):
        kind = a.layer_kinds[i]
        mixer = _linear_attention(a, i) if kind == LINEAR else _mamba(a, i) if kind == MAMBA else _attention(a, i)
        out += mixer
        out += _moe(a, i) if a.moe_layers[i] else _dense_mlp(a, i, a.intermediate)
        for n in range(a.norms_per_layer):
            out.append(_vec(f"norm{n}", i, norm_len))
            if a.norm_has_bias:
                out.append(_vec(f"norm{n}_bias", i, norm_len))
    out.append(_vec("output_norm", -1, norm_len))
    if a.norm_has_bias:
        out.append(_vec("output_norm_bias", -1, norm_len))
    if a.embed_dim:
        out.append(_mat("project_out", -1, a.embed_dim, a.hidden))
    if not a.tied_embeddings:
        out.append(Tensor("output", -1, a.vocab, width, HEAD))
    if a.head_bias:
        out.append(_vec("output_bias", -1, a.vocab))
    return tuple(out)


def gguf_mtp_tensors(a: Architecture) -> tuple[Tensor, ...]:
    """The multi-token-prediction blocks a GGUF holds after the decoder layers (Architecture.gguf_mtp_blocks),
    as llama.cpp's llama-model.cpp LLM_ARCH_GLM4_MOE names them for layer i >= n_layer - nextn_predict_layers:
    a whole decoder layer (attention, the MoE block of a MoE model, its norms), nextn.eh_proj
    (2 x n_embd -> n_embd), nextn.embed_tokens and nextn.shared_head_head (n_vocab x n_embd each), and
    nextn.enorm, nextn.hnorm, nextn.shared_head_norm (n_embd).  GLM-4.5's file lists these 25 tensors of
    blk.92 as "unused" (ik_llama.cpp issue #809: 1,761 tensors) and GLM-4.5-Air's those of blk.46 (803
    tensors, llama.cpp PR #14939); GLM-4.6's checkpoint lacks the two vocabulary-sized ones (1,759)."""
    out: list[Tensor] = []
    h, v = a.hidden, a.vocab
    for i in range(a.layers, a.layers + a.gguf_mtp_blocks):
        out += _attention(a, i)
        out += _moe(a, i) if a.experts > 1 else _dense_mlp(a, i, a.intermediate)
        for n in range(a.norms_per_layer):
            out.append(_vec(f"norm{n}", i, h))
        out += [_mat("nextn.eh_proj", i, h, 2 * h), _mat("nextn.embed_tokens", i, v, h), _mat("nextn.shared_head_head", i, v, h)]
        out += [_vec(f"nextn.{name}", i, h) for name in ("enorm", "hnorm", "shared_head_norm")]
    return tuple(out)


@dataclass(frozen=True)
class ParamCounts:
    """Parameter counts derived from the tensors."""

    total: int
    active: int  # touched per token: top-k of the routed experts, everything else
    active_no_embed: int  # the same without the input embedding table (one row is read per token)
    embedding: int


def count_params(a: Architecture, tensors: tuple[Tensor, ...]) -> ParamCounts:
    """total = sum of elements; active = total - (E - k)/E of the routed-expert elements."""
    total = sum(t.elements for t in tensors)
    experts = sum(t.elements for t in tensors if t.expert)
    idle = experts * (a.experts - a.experts_active) // a.experts if a.experts else 0
    embedding = a.vocab * (a.embed_dim or a.hidden)
    active = total - idle
    # With tied embeddings the table is also the output head, which every token reads in full.
    no_embed = active if a.tied_embeddings else active - embedding
    return ParamCounts(total=total, active=active, active_no_embed=no_embed, embedding=embedding)
