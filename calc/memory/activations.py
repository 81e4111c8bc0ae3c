"""Activations: the working memory of a forward pass, in each engine's own terms.

llama.cpp reserves one compute buffer for the worst-case micro-batch (n_ubatch tokens, every one
producing logits, the full KV in view) and reuses it; its size is the largest set of tensors alive
at once (ggml-alloc).  vLLM measures the PyTorch peak of a dummy forward pass over
max_num_batched_tokens tokens plus a sampler pass over max_num_seqs rows of logits.  transformers'
generate() runs the whole prompt in one forward pass and keeps logits for the last token only.
"""

from __future__ import annotations

from calc.architecture import Architecture

F32 = 4  # ggml computes activations in F32
HALF = 2  # vLLM and transformers keep activations in the model's 16-bit dtype


def mlp_width(a: Architecture) -> int:
    """Widest per-token MLP intermediate: the dense MLP, or the top-k experts plus shared ones."""
    moe = a.experts_active * a.moe_intermediate + a.shared_intermediate if a.is_moe else 0
    dense = a.intermediate if not all(a.moe_layers) else 0
    return max(moe, dense)


def llamacpp_compute_bytes(a: Architecture, ubatch: int, cells: int, flash: bool, with_output: bool, tp: int = 1,
                           width: int | None = None) -> int:
    """llama.cpp compute buffer for one GPU (llama-context.cpp graph_reserve, ggml-alloc reuse):

        output  = n_vocab * u * 4 (logits) + 2 * n_embd * u * 4                 (GPU holding output.weight)
        ffn     = u * (2 * n_embd + 3 * ffn_width) * 4
        attn_fa = u * (n_embd + 2 * n_head * head_dim) * 4 + cells * u * 2     (F16 mask)
        attn    = n_head * cells * u * 4 * 2 + cells * u * 4                    (KQ and softmax, no flash attention)
        buffer  = max(output, ffn, attn)     with u = min(n_ubatch, cells)
    """
    u = min(ubatch, cells)
    hidden = a.hidden
    out = (a.vocab * u + 2 * hidden * u) * F32 if with_output else 0
    ffn = u * (2 * hidden + 3 * (width or mlp_width(a)) // tp) * F32
    heads = max(1, a.heads // tp)
    if flash:
        attn = u * (hidden + 2 * heads * a.head_dim) * F32 + cells * u * 2
    else:
        attn = heads * cells * u * F32 * 2 + cells * u * F32
    return max(out, ffn, attn)


def vllm_activation_bytes(a: Architecture, tokens: int, seqs: int, tp: int, width: int | None = None) -> int:
    """vLLM profile-run peak on one rank (gpu_model_runner.profile_run):

        hidden  = 3 * T * n_embd * 2                   (residual, hidden states, attention output)
        mlp     = T * 3 * width / tp * 2               (gate_up output and activation; MoE: T * top_k rows)
        attn    = T * (n_head + 2 * n_kv) * head_dim / tp * 2
        sampler = 2 * min(max_num_seqs, T) * n_vocab * 4  (float32 logits and probabilities)
        peak    = hidden + max(mlp, attn) + sampler
    with T = max_num_batched_tokens.
    """
    hidden = 3 * tokens * a.hidden * HALF
    mlp = tokens * 3 * (width or mlp_width(a)) // tp * HALF
    attn = tokens * (a.heads + 2 * a.kv_heads) * a.head_dim // tp * HALF
    sampler = 2 * min(seqs, tokens) * a.vocab * F32
    return hidden + max(mlp, attn) + sampler


def transformers_activation_bytes(a: Architecture, tokens: int, batch: int, tp: int = 1, width: int | None = None) -> int:
    """transformers prefill peak: the forward pass over every prompt token at once (SDPA attention,
    no score matrix kept), logits for the last token of each sequence (logits_to_keep=1):

        peak = T * (3 * n_embd + 3 * width) * 2 + batch * n_vocab * 4     with T = context * batch
    """
    return tokens * (3 * a.hidden + 3 * (width or mlp_width(a)) // tp) * HALF + batch * a.vocab * F32
