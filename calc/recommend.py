"""Answers about a GPU setup: which setups fit, the longest context, the most sequences, the best format.

Every question here reduces to "the fullest GPU's bytes <= the capacity of one GPU", evaluated with
:meth:`Plan.worst_gpu`.  Bytes grow with context, sequences and bits per weight (tests/test_invariants.py
checks that), so the reverse solvers are binary searches.
"""

from __future__ import annotations

from calc import catalog
from calc.memory.plan import Plan, split_shape
from calc.request import MAX_BATCH, MAX_CONTEXT

# A recommended setup keeps this fraction of each GPU free: the allocator's fragmentation, a
# desktop's own use of a consumer card and a few larger prompts than planned.  A design margin
# (the same 5% the reference model pages' calculators leave), not an engine rule.
HEADROOM = 0.05

# GPU counts a recommendation may use, by catalog segment: one Mac (engines do not pool unified
# memory across machines), up to 8 cards in one workstation or server, up to 8 nodes of 8 in a
# data centre.
COUNTS = {
    "apple": (1,),
    "consumer": (1, 2, 3, 4, 6, 8),
    "workstation": (1, 2, 3, 4, 6, 8),
    "datacenter": (1, 2, 4, 8, 16, 24, 32, 48, 64),
}


def capacity_bytes(gpu: catalog.Gpu, engine: catalog.Engine, gpu_memory_utilization: float) -> int:
    """Bytes one GPU may fill: usable memory, times gpu_memory_utilization under vLLM (which
    reserves exactly that fraction whatever the model needs, vllm/config/cache.py)."""
    fraction = gpu_memory_utilization if engine.id == "vllm" else 1.0
    return int(gpu.usable_bytes * fraction)


def split_ok(plan: Plan, gpus: int) -> bool:
    """Whether the engine can split this model over `gpus`: tensor parallelism needs the attention
    heads divisible by the ranks, and the KV heads divisible by them or them by the KV heads
    (vllm/config/parallel.py verify_with_model_config)."""
    tp, stages = split_shape(plan.engine, gpus)
    a = plan.arch
    if stages > a.layers:
        return False
    if plan.engine.split != "tensor" or tp == 1:
        return True
    return a.heads % tp == 0 and (a.kv_heads % tp == 0 or tp % a.kv_heads == 0)


def _largest(fits, lo: int, hi: int) -> int | None:
    """Largest n in [lo, hi] with fits(n), for a monotone fits (True then False); None if none."""
    if not fits(lo):
        return None
    if fits(hi):
        return hi
    while hi - lo > 1:  # invariant: fits(lo), not fits(hi)
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def max_context(plan: Plan, batch: int, gpus: int, cap: int, model_max: int) -> int | None:
    """Longest context per sequence (tokens, at most the larger of the model's window and 256k)
    whose fullest GPU stays within `cap` bytes; None when not even one token fits."""
    hi = min(MAX_CONTEXT, max(model_max, 262144))
    return _largest(lambda c: plan.worst_gpu(c, batch, gpus) <= cap, 1, hi)


def max_batch(plan: Plan, context: int, gpus: int, cap: int) -> int | None:
    """Most sequences of `context` tokens held at once within `cap` bytes per GPU; None when not one."""
    return _largest(lambda b: plan.worst_gpu(context, b, gpus) <= cap, 1, MAX_BATCH)


def recommendations(plan: Plan, context: int, batch: int, engine: catalog.Engine, gpu_memory_utilization: float) -> list[dict]:
    """For every catalog GPU, the smallest count (from COUNTS) whose fullest GPU fits with HEADROOM.

    need[n] = worst_gpu(context, batch, n) is the same for every GPU, so it is computed once per
    count.  Ordered by total launch price (unknown prices last), then count, then capacity.
    """
    need: dict[int, int | None] = {}

    def needed(n: int) -> int | None:
        if n not in need:
            need[n] = plan.worst_gpu(context, batch, n) if split_ok(plan, n) else None
        return need[n]

    out = []
    for gpu in catalog.gpus().values():
        cap = capacity_bytes(gpu, engine, gpu_memory_utilization)
        for n in COUNTS.get(gpu.segment, (1,)):
            used = needed(n)
            if used is not None and used <= cap * (1 - HEADROOM):
                out.append({"gpu": gpu.id, "name": gpu.name, "vendor": gpu.vendor, "segment": gpu.segment,
                            "count": n, "capacity_bytes": cap, "used_bytes": used,
                            "headroom_fraction": round((cap - used) / cap, 4),
                            "price_usd": gpu.price_usd * n if gpu.price_usd else None})
                break
    out.sort(key=lambda r: (r["price_usd"] is None, r["price_usd"] or 0, r["count"], r["capacity_bytes"]))
    return out


def best_format(formats: list[tuple[str, float, Plan]], context: int, batch: int, gpus: int, cap: int) -> str | None:
    """The format with the most bits per weight that fits: `formats` is (id, bits per weight, plan)."""
    for fid, _, plan in sorted(formats, key=lambda f: -f[1]):
        if plan.worst_gpu(context, batch, gpus) <= cap:
            return fid
    return None
