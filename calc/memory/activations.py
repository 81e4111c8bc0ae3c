"""Activations: the working memory of a forward pass, in each engine's own terms.

llama.cpp reserves one compute buffer for the worst-case micro-batch (n_ubatch tokens, logits for
every one of them unless the caller limits the outputs, the full KV in view) and reuses it; its size
is the largest set of tensors alive at once (ggml-alloc).  vLLM measures the PyTorch peak of a
dummy forward pass over max_num_batched_tokens tokens, then of a sampler pass over max_num_seqs
rows of logits.  transformers'
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


def llamacpp_compute_bytes(
    a: Architecture,
    ubatch: int,
    cells: int,
    flash: bool,
    with_output: bool,
    tp: int = 1,
    width: int | None = None,
    output_rows: int | None = None,
) -> int:
    """llama.cpp compute buffer for one GPU (llama-context.cpp graph_reserve, ggml-alloc reuse):

        mask    = cells * u * 2 with flash attention (F16), cells * u * 4 without (F32)
        output  = n_vocab * rows * 4 (logits) + 2 * n_embd * u * 4               (GPU holding output.weight)
        ffn     = u * (4 * n_embd + 3 * ffn_width) * 4                  (input, norm, output, residual; gate, up, act)
        attn_fa = u * (n_embd + 2 * n_head * head_dim) * 4
        attn    = n_head * cells * u * 4 + u * (n_embd + 2 * n_head * head_dim) * 4   (no flash attention)
        buffer  = mask + max(output, ffn, attn)     with u = min(n_ubatch, cells)

    The KQ mask is a graph input the scheduler copies onto the GPU for the whole graph, so it is
    alive in every phase.  Without flash attention the softmax runs in place on KQ (ggml-alloc
    reuses the parent of an in-place op), one [cells, u, n_head] F32 tensor.  `rows` is the
    number of logit rows reserved: the ubatch by default (n_outputs_max = n_batch), or one per
    sequence under llama-server since PR #23861 (output_rows).
    """
    u = min(ubatch, cells)
    hidden = a.hidden
    rows = u if output_rows is None else min(u, output_rows)
    mask = cells * u * (2 if flash else F32)
    out = (a.vocab * rows + 2 * hidden * u) * F32 if with_output else 0
    ffn = u * (4 * hidden + 3 * (width or mlp_width(a)) // tp) * F32
    heads = max(1, a.heads // tp)
    attn = u * (hidden + 2 * heads * a.head_dim) * F32
    if not flash:
        attn += heads * cells * u * F32
    return mask + max(out, ffn, attn)


# Bytes per logit the profiler's dummy sampler holds.  V1 (gpu_model_runner._dummy_sampler_run)
# samples without top-k, top-p or logprobs: float32 logits and probabilities.
VLLM_SAMPLER_BYTES = 2 * F32


def vllm_activation_bytes(
    a: Architecture, tokens: int, seqs: int, tp: int, width: int | None = None, sampler_bytes: int = VLLM_SAMPLER_BYTES
) -> int:
    """vLLM profile-run peak on one rank (gpu_model_runner.profile_run): a dummy forward pass over
    T = max_num_batched_tokens tokens, then a dummy sampler pass over the logits of
    min(max_num_seqs, T) requests.  The forward pass's intermediates are freed before the sampler
    runs; its output hidden states are not:

        hidden  = 3 * T * n_embd * 2                   (residual, hidden states, attention output)
        mlp     = T * 3 * width / tp * 2               (gate_up output and activation; MoE: T * top_k rows)
        attn    = T * (n_head + 2 * n_kv) * head_dim / tp * 2
        forward = hidden + max(mlp, attn)
        sampler = T * n_embd * 2 + min(max_num_seqs, T) * n_vocab * sampler_bytes
        peak    = max(forward, sampler)

    sampler_bytes: 8 for V1 (VLLM_SAMPLER_BYTES); V0's profile sampled with top-k and top-p, a sort
    of every row, about 38 bytes per logit (calc/data/validation.json engine profiles).
    """
    hidden = 3 * tokens * a.hidden * HALF
    mlp = tokens * 3 * (width or mlp_width(a)) // tp * HALF
    attn = tokens * (a.heads + 2 * a.kv_heads) * a.head_dim // tp * HALF
    sampler = tokens * a.hidden * HALF + min(seqs, tokens) * a.vocab * sampler_bytes if seqs else 0
    return max(hidden + max(mlp, attn), sampler)


def transformers_activation_bytes(a: Architecture, tokens: int, batch: int, tp: int = 1, width: int | None = None) -> int:
    """transformers prefill peak: the forward pass over every prompt token at once (SDPA attention,
    no score matrix kept), logits for the last token of each sequence (logits_to_keep=1):

        peak = T * (3 * n_embd + 3 * width) * 2 + batch * n_vocab * 4     with T = context * batch
    """
    return tokens * (3 * a.hidden + 3 * (width or mlp_width(a)) // tp) * HALF + batch * a.vocab * F32
