"""Speed estimates, labelled as such: rooflines, not measurements.

Decode is memory-bound: each step reads the weights the step touches and the whole KV cache once.
    step_seconds   = (weights_read + kv_bytes) / (bandwidth * tp)
    weights_read   = dense bytes + head + expert bytes * touched / E
    touched        = E * (1 - (1 - k / E) ** batch)   expected distinct experts routed in one step
    tokens_per_s   = batch / step_seconds             (all sequences together)
With a layer split the GPUs work in turn, so their bandwidths do not add (tp = 1); tensor-parallel
ranks each read 1/tp of every layer at once.  Real engines reach roughly 50-80% of this.

Prefill is compute-bound:
    flops          = 2 * active_params * T + 2 * n_attn_layers * heads * (head_dim + v_head_dim) * T**2 / 2
    prefill_seconds = flops / (bf16_tflops * 1e12 * tp)     with T = context * batch (causal attention)
"""

from __future__ import annotations

from calc import catalog
from calc.memory.plan import Plan, split_shape
from calc.result import Speed
from calc.tensors import ParamCounts


def weights_read_per_step(plan: Plan, batch: int) -> float:
    """Bytes of weights one decode step reads (see the module docstring)."""
    a, w = plan.arch, plan.weights
    dense = plan.layer_bytes - plan.expert_bytes + plan.head_gpu + w.final_norm
    if plan.head_gpu == 0:  # tied embeddings on the GPU: the table is read whole as the output head
        dense += w.embed
    if not a.experts:
        return float(dense)
    touched = a.experts * (1 - (1 - a.experts_active / a.experts) ** batch)
    return dense + plan.expert_bytes * touched / a.experts


def attention_flops(plan: Plan, tokens: int) -> float:
    """Score and value FLOPs of a causal prompt of `tokens` over the attention layers (windows capped)."""
    a = plan.arch
    per_pair = 2 * a.heads * (a.head_dim + a.v_head_dim)
    flops = 0.0
    for window, layers in plan.attention_windows.items():
        span = min(window, tokens) if window else tokens / 2  # average keys seen per query
        flops += layers * per_pair * tokens * span
    return flops


def speed(plan: Plan, params: ParamCounts, context: int, batch: int, gpu: catalog.Gpu | None, gpus: int, kv_bytes: int) -> Speed:
    """Decode tokens/s and prefill seconds on `gpus` x `gpu`; None values where no GPU is chosen."""
    if gpu is None:
        return Speed(None, None, None, "roofline")
    tp, _ = split_shape(plan.engine, gpus)
    step = (weights_read_per_step(plan, batch) + kv_bytes) / (gpu.bandwidth_bytes_per_s * tp)
    tokens = context * batch
    prefill = None
    if gpu.bf16_tflops:
        flops = 2 * params.active_no_embed * tokens + attention_flops(plan, context) * batch
        prefill = round(flops / (gpu.bf16_tflops * 1e12 * tp), 4)
    return Speed(round(batch / step, 2), round(1 / step, 2), prefill, "roofline")
