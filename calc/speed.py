"""Speed estimates, labelled as such: rooflines, and the share of them real engines were measured to reach.

Decode is memory-bound: each step reads the weights the step touches and the whole KV cache once.
    step_seconds   = (weights_read + kv_bytes) / (bandwidth * tp)
    weights_read   = dense bytes + head + expert bytes * touched / E
    touched        = E * (1 - (1 - k / E) ** batch)   expected distinct experts routed in one step
    tokens_per_s   = batch / step_seconds             (all sequences together)
With a layer split the GPUs work in turn, so their bandwidths do not add (tp = 1); tensor-parallel
ranks each read 1/tp of every layer at once.  No engine reaches this ceiling.

Prefill is compute-bound:
    flops          = 2 * active_params * T + 2 * n_attn_layers * heads * (head_dim + v_head_dim) * T**2 / 2
    prefill_seconds = flops / (bf16_tflops * 1e12 * tp)     with T = context * batch (causal attention)
This is the shortest the prefill can take: a lower bound on the time to the first token.

The realistic range: each ceiling times the band of shares an engine reached in published
measurements (calc/data/speed_efficiency.toml, one row per measurement, loaded by
calc.catalog.speed_runs, which computes each row's share against the same rooflines):
    decode share   = measured tg128 tokens/s * model file bytes / bandwidth        (batch 1)
    prefill share  = measured pp512 tokens/s * 2 * params / (bf16_tflops * 1e12)
    band           = [min, max] of the engine's shares, each rounded to 3 decimals
    decode range   = [ceiling * low, ceiling * high]        (tokens/s, total and per sequence)
    prefill range  = [prefill_seconds / high, prefill_seconds / low]
The band is the whole spread of the measurements, not a confidence interval: a handful of runs on a
few GPUs, at batch 1, on one GPU each.  It is applied to every batch and split as measured at batch 1
on one GPU (batched decode, tensor and layer splits lose more to communication and scheduling than
that; long prompts lose more to attention).  An engine without measurements gets no band and no
range, never another engine's: its answer has the ceilings alone.
"""

from __future__ import annotations

from functools import cache

from calc import catalog
from calc.memory.plan import Plan, split_shape
from calc.result import Efficiency, Speed
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


@cache  # the measurements are a catalog: fixed for the process
def efficiency(engine: str, kind: str) -> Efficiency | None:
    """The band of shares of the `kind` ("decode" or "prefill") ceiling the engine reached in the
    measurements of calc/data/speed_efficiency.toml; None where it has none."""
    shares = []
    for run in catalog.speed_runs():
        share = run.decode_fraction() if kind == "decode" else run.prefill_fraction()
        if run.engine == engine and share is not None:
            shares.append((round(share, 3), run.source))
    if not shares:
        return None
    low, high = min(s for s, _ in shares), max(s for s, _ in shares)
    return Efficiency(low, high, len(shares), tuple(dict.fromkeys(u for _, u in shares)))


def speed(plan: Plan, params: ParamCounts, context: int, batch: int, gpu: catalog.Gpu | None, gpus: int, kv_bytes: int) -> Speed:
    """Decode tokens/s and prefill seconds on `gpus` x `gpu`, ceilings and measured ranges; None
    values where no GPU is chosen (and ranges None where the engine has no measurements)."""
    if gpu is None:
        return Speed(None, None, None, "roofline", None, None, None, None, None)
    tp, _ = split_shape(plan.engine, gpus)
    step = (weights_read_per_step(plan, batch) + kv_bytes) / (gpu.bandwidth_bytes_per_s * tp)
    tokens = context * batch
    prefill = None
    if gpu.bf16_tflops:
        flops = 2 * params.active_no_embed * tokens + attention_flops(plan, context) * batch
        prefill = round(flops / (gpu.bf16_tflops * 1e12 * tp), 4)
    total, each = batch / step, 1 / step
    decode_band, prefill_band = efficiency(plan.engine.id, "decode"), efficiency(plan.engine.id, "prefill")
    decode_total = decode_each = prefill_range = None
    if decode_band:
        decode_total = (round(total * decode_band.low, 2), round(total * decode_band.high, 2))
        decode_each = (round(each * decode_band.low, 2), round(each * decode_band.high, 2))
    if prefill_band and prefill is not None:
        prefill_range = (round(prefill / prefill_band.high, 4), round(prefill / prefill_band.low, 4))
    return Speed(
        round(total, 2),
        round(each, 2),
        prefill,
        "roofline",
        decode_total,
        decode_each,
        prefill_range,
        decode_band,
        prefill_band,
    )
