"""Answers about a GPU setup: which setups fit, the longest context, the most sequences, the best format.

Every question here reduces to "the fullest GPU's bytes <= the capacity of one GPU", evaluated with
:meth:`Plan.worst_gpu`.  Bytes grow with context, sequences and bits per weight (tests/test_invariants.py
checks that), so the reverse solvers are binary searches.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from calc import catalog
from calc.catalog import Gpu
from calc.memory.plan import Plan, split_shape
from calc.request import MAX_BATCH, MAX_CONTEXT
from calc.result import Recommendation

# A recommended setup keeps this fraction of each GPU free: the allocator's fragmentation, a
# desktop's own use of a consumer card and a few larger prompts than planned.  A design margin
# (the same 5% the reference model pages' calculators leave), not an engine rule.
HEADROOM = 0.05

# GPU counts a recommendation may use, by catalog segment: one Mac (engines do not pool unified
# memory across machines); up to 8 cards in one workstation or server, in the counts people build
# (three consumer cards is a common llama.cpp rig; tensor parallelism wants powers of two); whole
# nodes of 8 in a data centre, up to 8 nodes.
COUNTS = {
    "apple": (1,),
    "consumer": (1, 2, 3, 4, 8),
    "workstation": (1, 2, 4, 8),
    "datacenter": (1, 2, 4, 8, 16, 32, 64),
}


ALL_COUNTS = tuple(sorted({n for counts in COUNTS.values() for n in counts}))


def split_ok(plan: Plan, gpus: int) -> bool:
    """Whether the engine can split this model over `gpus`: tensor parallelism needs the attention
    heads divisible by the ranks, and the KV heads divisible by them or them by the KV heads
    (vllm/config/parallel.py verify_with_model_config)."""
    return plan.memo(("split_ok", gpus), _split_ok, plan, gpus)


def _split_ok(plan: Plan, gpus: int) -> bool:
    tp, stages = split_shape(plan.engine, gpus)
    a = plan.arch
    if stages > a.layers:
        return False
    if plan.engine.split != "tensor" or tp == 1:
        return True
    return a.heads % tp == 0 and (a.kv_heads % tp == 0 or tp % a.kv_heads == 0)


def _largest(bytes_at, cap: int, lo: int, hi: int) -> int | None:
    """Largest n in [lo, hi] with bytes_at(n) <= cap, for a non-decreasing bytes_at; None if none.

    Safeguarded false position: the next probe is where the straight line through the bracket's
    ends meets `cap` (exact for the linear parts: KV grows by a fixed number of bytes a token),
    and every other probe bisects, so the bracket at least halves every two probes.
    """
    f_lo = bytes_at(lo)
    if f_lo > cap:
        return None
    f_hi = bytes_at(hi)
    if f_hi <= cap:
        return hi
    bisect = False
    while hi - lo > 1:  # invariant: bytes_at(lo) <= cap < bytes_at(hi)
        if bisect or f_hi == f_lo:
            mid = (lo + hi) // 2
        else:
            mid = min(hi - 1, max(lo + 1, lo + (cap - f_lo) * (hi - lo) // (f_hi - f_lo)))
        f_mid = bytes_at(mid)
        width = hi - lo
        if f_mid <= cap:
            lo, f_lo = mid, f_mid
        else:
            hi, f_hi = mid, f_mid
        bisect = not bisect and (hi - lo) * 2 > width  # the line missed: halve next time
    return lo


def max_context(plan: Plan, batch: int, gpus: int, cap: int, model_max: int) -> int | None:
    """Longest context per sequence (tokens, at most the model's window `model_max`) whose fullest
    GPU stays within `cap` bytes; None when not even one token fits."""
    return _largest(lambda c: plan.worst_gpu(c, batch, gpus), cap, 1, min(MAX_CONTEXT, model_max))


def max_batch(plan: Plan, context: int, gpus: int, cap: int) -> int | None:
    """Most sequences of `context` tokens held at once within `cap` bytes per GPU; None when not one."""
    return _largest(lambda b: plan.worst_gpu(context, b, gpus), cap, 1, MAX_BATCH)


class Candidate(NamedTuple):
    """A catalog GPU as a recommendation candidate, under one engine and its settings."""

    fill: float  # bytes the fullest GPU may hold with HEADROOM left: capacity x (1 - HEADROOM)
    index: int  # position in the GPU catalog
    gpu: Gpu
    capacity: int  # bytes the engine may use of it (Engine.capacity_bytes)


def recommendations(groups: list[tuple[Plan, tuple[int, ...]]], context: int, batch: int, limit: int = 0):
    """For every catalog GPU, the smallest count (from COUNTS) whose fullest GPU fits with HEADROOM;
    returns the `limit` cheapest (0: all) as Recommendation rows, and how many GPUs fit in all.

    `groups` pairs each plan with the catalog positions of the GPUs it describes: an engine's
    defaults may differ by GPU (vLLM's batch sizes by memory), so each GPU is judged under its own.
    need[n] = worst_gpu(context, batch, n) is the same for every GPU of a group, so it is computed
    once per count (Plan.worst_gpus).  Within a segment the GPUs are sorted by usable bytes, so those
    that fit at a count are a prefix of the ones still unplaced.
    """
    # Each setup that holds the request as its sort key: (unpriced, total price in US dollars, count,
    # capacity per GPU, catalog index, bytes on the fullest GPU): priced setups first, cheapest, then
    # fewer GPUs, then less capacity; equal setups in catalog order.  Plain tuples: dozens per call.
    found: list[tuple[bool, float, int, int, int, int]] = []
    for plan, members in groups:
        need = plan.worst_gpus(context, batch, [n for n in ALL_COUNTS if split_ok(plan, n)])
        for counts, gpus in _segments(plan.engine, plan.settings, members):
            start = 0  # gpus[start:] are unplaced, largest first
            for n in counts:
                if start == len(gpus):
                    break
                used = need.get(n)
                if used is None:
                    continue
                end = start
                while end < len(gpus) and gpus[end].fill >= used:
                    price = gpus[end].gpu.price_usd
                    found.append((not price, price * n, n, gpus[end].capacity, gpus[end].index, used))
                    end += 1
                start = end
    found.sort()
    catalog_gpus = list(catalog.gpus().values())
    out = []
    for _unpriced, price, n, capacity, index, used in found[:limit] if limit else found:
        g = catalog_gpus[index]
        headroom = round((capacity - used) / capacity, 4)
        out.append(Recommendation(g.id, g.name, g.vendor, g.segment, capacity, n, used, headroom, price or None))
    return out, len(found)


@lru_cache(maxsize=64)
def _segments(engine, st, members: tuple[int, ...]) -> tuple:
    """Per catalog segment among the GPUs at `members`: (its COUNTS, its Candidates most fill first)."""
    by_segment: dict = {}
    gpus = list(catalog.gpus().values())
    for i in members:
        g = gpus[i]
        cap = engine.capacity_bytes(g, st)
        by_segment.setdefault(g.segment, []).append(Candidate(cap * (1 - HEADROOM), i, g, cap))
    return tuple((COUNTS.get(seg, (1,)), sorted(rows, key=lambda r: -r.fill)) for seg, rows in by_segment.items())


def best_format(formats: list[tuple[str, float, Plan]], context: int, batch: int, gpus: int, cap: int) -> str | None:
    """The format with the most bits per weight that fits: `formats` is (id, bits per weight, plan),
    most bits first.  A plan whose one-token floor is already over `cap` is passed over unevaluated."""
    for fid, _, plan in formats:
        if plan.floor_bytes(gpus) <= cap and plan.worst_gpu(context, batch, gpus) <= cap:
            return fid
    return None
