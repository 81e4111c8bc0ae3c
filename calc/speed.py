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

The realistic range (issue 15): each engine and GPU backend (CUDA on NVIDIA, ROCm on AMD, Metal on
Apple: BACKENDS) is fitted to the published runs of calc/data/speed_efficiency.toml (one row each,
loaded by calc.catalog.speed_runs):
    decode   t = S / (B * share) + L * layer_seconds      seconds per token at batch 1
             S the model file's bytes, B the GPU's bandwidth, L its layers: a bandwidth share and a
             fixed cost per layer (kernel launches and synchronisation, which small models on fast GPUs
             are bound by), the weighted least squares fit of sum((t_fit - t) / t)^2 over the runs; with
             fewer than FIT_MIN_RUNS runs, or a negative layer cost, the share alone (layer_seconds 0)
    prefill  tokens/s = share * FLOPS / (2 * params)      the same fit with the share alone (pp512)
    ratio    measured / fitted for every run: [low, high] = its smallest and largest, the measured
             spread; median_error = the median of |1 / ratio - 1|, (fitted - measured) / measured
The estimate applies the fit to the request (step = weights and KV read / (B * tp * share) + layers *
layer_seconds) and its range is estimate x [low, high]; prefill seconds likewise (/ high .. / low).
A case no run covers (an engine or a backend without runs) gets no fit and no range: its answer has
the ceilings alone, "not checked".  The spread is that of the runs, not a confidence interval: runs
at batch 1, on one GPU each; batched decode and splits lose more than that.

efficiency() is the older, coarser band (min and max share of the roofline over all of an engine's
runs), which calc/offload.py's offload speed still applies.
"""

from __future__ import annotations

import statistics
from functools import cache

from calc import catalog
from calc.memory.plan import Plan, split_shape
from calc.result import Efficiency, Speed, SpeedFit
from calc.tensors import ParamCounts

# The backend an engine runs on each vendor's GPUs (llama.cpp also builds Vulkan; its runs are fitted
# and reported, but no vendor defaults to it).
BACKENDS = {"nvidia": "CUDA", "amd": "ROCm", "apple": "Metal"}
FIT_MIN_RUNS = 6  # fewer runs fit the bandwidth share alone


def backend_for(gpu: catalog.Gpu) -> str:
    """The GPU backend a run on this GPU uses."""
    return BACKENDS.get(gpu.vendor, gpu.vendor)


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


def _decode_points(engine: str, backend: str) -> list[tuple[float, int, float, str]]:
    """(S / B seconds, layers, measured seconds per token, source) of each decode run."""
    out = []
    for run in catalog.speed_runs():
        if run.engine == engine and run.backend == backend and run.decode_tokens_per_s:
            bandwidth = catalog.gpus()[run.gpu].bandwidth_bytes_per_s
            out.append((run.size_bytes / bandwidth, run.layers, 1 / run.decode_tokens_per_s, run.source))
    return out


def _prefill_points(engine: str, backend: str) -> list[tuple[float, int, float, str]]:
    """(2 * params / FLOPS seconds per token, 0, measured seconds per token, source) of each pp512 run."""
    out = []
    for run in catalog.speed_runs():
        if run.engine == engine and run.backend == backend and run.prefill_tokens_per_s:
            flops = catalog.gpus()[run.gpu].bf16_tflops * 1e12
            out.append((2 * run.params / flops, 0, 1 / run.prefill_tokens_per_s, run.source))
    return out


def fit_points(points: list[tuple[float, int, float, str]], with_layers: bool) -> tuple[float, float]:
    """(share, layer_seconds) minimising sum(((x / share + L * c) - t) / t)^2 (see the module
    docstring): with u = x / t and v = L / t the normal equations of a = 1 / share and c are
        [sum u^2  sum uv] [a]   [sum u]
        [sum uv   sum v^2] [c] = [sum v]
    and the share alone a = sum u / sum u^2 without layers, or where c comes out negative.  No share
    exceeds the bandwidth: where a < 1, a = 1 and c = sum v (1 - u) / sum v^2."""
    u = [x / t for x, _, t, _ in points]
    v = [n / t for _, n, t, _ in points]
    suu, suv, svv = sum(a * a for a in u), sum(a * b for a, b in zip(u, v, strict=True)), sum(b * b for b in v)
    su, sv = sum(u), sum(v)
    det = suu * svv - suv * suv
    if with_layers and det > 0:
        a, c = (su * svv - sv * suv) / det, (suu * sv - suv * su) / det
        if a < 1 and c >= 0:
            a, c = 1.0, sum(b * (1 - x) for x, b in zip(u, v, strict=True)) / svv
        if a > 0 and c >= 0:
            return 1 / a, c
    return min(1.0, suu / su), 0.0


@cache  # the measurements are a catalog: fixed for the process
def fit(engine: str, backend: str, kind: str) -> SpeedFit | None:
    """The engine's fit on the backend for `kind` ("decode" or "prefill"), None where no run covers it.
    The share is rounded to 3 decimals and the layer cost to 0.1 microsecond; the ratios use them."""
    points = _decode_points(engine, backend) if kind == "decode" else _prefill_points(engine, backend)
    if not points:
        return None
    share, layer = fit_points(points, kind == "decode" and len(points) >= FIT_MIN_RUNS)
    share, layer = round(share, 3), round(layer, 7)
    ratios = [(x / share + n * layer) / t for x, n, t, _ in points]  # fitted seconds / measured = measured t/s / fitted
    errors = [abs(1 / r - 1) for r in ratios]  # (fitted t/s - measured) / measured, as the accuracy table
    sources = tuple(dict.fromkeys(src for *_, src in points))
    return SpeedFit(
        backend,
        share,
        layer,
        round(min(ratios), 3),
        round(max(ratios), 3),
        round(statistics.median(errors), 4),
        len(points),
        sources,
    )


def speed(plan: Plan, params: ParamCounts, prompt: int, batch: int, gpu: catalog.Gpu | None, gpus: int, kv_bytes: int) -> Speed:
    """Decode tokens/s and prefill seconds of a `prompt`-token prompt per sequence on `gpus` x `gpu`:
    the ceilings, and the estimate of the engine's fit on the GPU's backend with its measured spread
    (None values where no GPU is chosen; estimates and ranges None where no run covers the case)."""
    if gpu is None:
        return Speed(None, None, None, "roofline", None, None, None, None, None, None, False, None, None)
    tp, _ = split_shape(plan.engine, gpus)
    read = (weights_read_per_step(plan, batch) + kv_bytes) / (gpu.bandwidth_bytes_per_s * tp)
    tokens = prompt * batch
    prefill = None
    if gpu.bf16_tflops:
        flops = 2 * params.active_no_embed * tokens + attention_flops(plan, prompt) * batch
        prefill = round(flops / (gpu.bf16_tflops * 1e12 * tp), 4)
    total, each = batch / read, 1 / read
    backend = backend_for(gpu)
    dfit, pfit = fit(plan.engine.id, backend, "decode"), fit(plan.engine.id, backend, "prefill")
    est_total = est_each = decode_total = decode_each = prefill_range = None
    if dfit:
        step = read / dfit.share + plan.arch.layers * dfit.layer_seconds
        est_total, est_each = round(batch / step, 2), round(1 / step, 2)
        decode_total = (round(batch / step * dfit.low, 2), round(batch / step * dfit.high, 2))
        decode_each = (round(dfit.low / step, 2), round(dfit.high / step, 2))
    if pfit and prefill is not None:
        fitted = prefill / pfit.share
        prefill_range = (round(fitted / pfit.high, 4), round(fitted / pfit.low, 4))
    return Speed(
        round(total, 2),
        round(each, 2),
        prefill,
        "roofline",
        decode_total,
        decode_each,
        prefill_range,
        dfit,
        pfit,
        backend,
        dfit is not None,
        est_total,
        est_each,
    )


def accuracy() -> list[dict]:
    """The tokens/s rows of the accuracy table: per engine, backend and kind ("decode", "prefill")
    the fit's median and largest |(fitted - measured) / measured| over its runs, the measured spread
    [low, high] of measured / fitted t/s, and the same errors for the roofline itself (share 1, no
    layer cost: the naive "bandwidth / model size" rule).  Every fit is in-sample: the runs it is
    compared with are the runs it was fitted to."""
    out = []
    keys = dict.fromkeys((r.engine, r.backend) for r in catalog.speed_runs())
    for engine, backend in keys:
        for kind in ("decode", "prefill"):
            f = fit(engine, backend, kind)
            if f is None:
                continue
            points = _decode_points(engine, backend) if kind == "decode" else _prefill_points(engine, backend)
            naive = [abs(t / x - 1) for x, _, t, _ in points]  # (the ceiling's t/s - measured) / measured
            out.append(
                {
                    "engine": engine,
                    "backend": backend,
                    "kind": kind,
                    "n": f.runs,
                    "share": f.share,
                    "layer_seconds": f.layer_seconds,
                    "spread": [f.low, f.high],
                    "ours": {"median": f.median_error, "max": round(max(abs(1 / f.low - 1), abs(1 / f.high - 1)), 4)},
                    "naive": {"median": round(statistics.median(naive), 4), "max": round(max(naive), 4)},
                }
            )
    return out
