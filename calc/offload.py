"""llama.cpp on your machine: where every tensor, KV layer and compute buffer lives, the settings
its --fit would choose, the speed, and the command line (issue 14).

Placement follows llama.cpp's src/llama-model.cpp load_tensors:
    i_gpu_start    = max(n_layer + 1 - n_gpu_layers, 0)              the output layer first, then the last
                                                                     ngl - 1 repeating layers (PR #18148,
                                                                     2025-12, "offload output layer to GPU
                                                                     first"); before it, and in ik_llama.cpp,
                     max(n_layer - n_gpu_layers, 0)                  the LAST ngl repeating layers, the output
                                                                     only when n_gpu_layers > n_layer
                                                                     (engines.toml output_layer_first)
    act_gpu_layers = min(n_gpu_layers, n_layer + 1)                  the output layer counts as layer n_layer
    layer il       : CPU if il < i_gpu_start or il - i_gpu_start >= act_gpu_layers, else GPU
                     upper_bound(splits, (il - i_gpu_start) / act_gpu_layers)
    splits         = cumulative tensor_split (default: each GPU's free memory), normalised to end at 1
    input layer    : always the CPU ("very little benefit to offloading the input layer"): token_embd
    output layer   : get_layer_buft_list(n_layer)
A tensor buffer override (-ot, --cpu-moe, --n-cpu-moe) moves every tensor whose name the pattern
finds (std::regex_search, the first matching override wins) to the named buffer: llama-model.cpp
create_tensor.  common/arg.cpp: --cpu-moe adds "\\.ffn_(up|down|gate)_exps"; --n-cpu-moe N adds
"blk\\.<i>\\.ffn_(up|down|gate|gate_up)_(ch|)exps" for i < N (llm_ffn_exps_block_regex).
--split-mode row: the matrices of the GPU layers are split by rows over the GPUs in tensor_split
proportions; the rest of those layers, their KV and the compute buffer sit on the main GPU (-mg 0).
--split-mode none: every GPU layer on the main GPU.
KV cache (llama-kv-cache.cpp): each layer's K and V in the buffer of its layer's device, or in host
memory with --no-kv-offload.
Compute buffers (ggml-backend scheduler): every GPU with layers reserves the engine's compute buffer
(calc/engines/llamacpp.py compute_bytes, with the logits on the GPU of the output layer); the host
reserves the input embeddings (n_embd x n_ubatch F32) and, when it runs layers or experts itself, a
compute buffer of its own.  With weights in host memory and a micro-batch of at least 32 tokens,
ggml-cuda offloads the big matrix products to the main GPU (ggml_backend_cuda_device_offload_op,
min_batch_size = 32) and the scheduler copies the weight into the GPU's compute buffer: the largest
host weight tensor is added there (an estimate: the copies of one op are alive at once).
The CPU model buffer is "CPU_Mapped" (mmap, default): file pages in the page cache; counted as RAM.
Its printed size is the mapped range, not the host tensors: llama-model.cpp load_tensors makes one
host buffer per file with ggml_backend_cpu_buffer_from_ptr over llama_model_loader::get_mapping_range,
the span from the first to the last host tensor's bytes in that file, so GPU tensors lying between
them are inside it (mapped_span; the file order is token_embd, the layers in order, output_norm,
output, as convert_hf_to_gguf.py writes them).
n_layer is the GGUF's block_count (n_layer_all): with the multi-token-prediction blocks a GLM-4.5 file
holds (gguf_blocks), so -ngl and -ts count 94 slots for GLM-4.5's 92 layers; those blocks are skipped
at load (TENSOR_SKIP: "model has unused tensor ... -- ignoring", no buffer) and hold no KV cache
(llama-model.cpp LLM_ARCH_GLM4_MOE: n_layer_kv_from_start = n_layer - nextn_predict_layers).
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from calc.engines.llamacpp import CUDA_VENDORS
from calc.errors import show
from calc.formats import file_tensors, tensor_types
from calc.i18n import fail
from calc.machine import Device, Machine, decode_ram_share
from calc.result import DeviceMemory, FitPlan, OffloadCommand, OffloadSpeed, OverrideHit, Placement

HOST = -1  # device index of the system RAM
MIB = 2**20
FIT_MARGIN = 1024 * MIB  # common/common.h fit_params_target default: 1024 MiB per device (PR #16653, --fit-target / -fitt)
FIT_MIN_CTX = 4096  # common/common.h fit_params_min_ctx: --fit never reduces the context below this
OP_OFFLOAD_MIN_BATCH = 32  # ggml-cuda.cu ggml_backend_cuda_device_offload_op: min_batch_size
CPU_MOE = r"\.ffn_(up|down|gate)_exps"  # common/common.h LLM_FFN_EXPS_REGEX (--cpu-moe)
FIT_MOE = r"blk\.\d+\.ffn_(up|down|gate)_(ch|)exps"  # src/llama.cpp llama_params_fit pattern_moe_all


def gguf_blocks(a) -> int:
    """llama.cpp's n_layer for the split: the GGUF's block_count, the decoder layers and the
    multi-token-prediction blocks the file holds (Architecture.gguf_mtp_blocks).  llama-model.cpp
    load_tensors splits n_layer + 1 slots (act_gpu_layers = min(n_gpu_layers, n_layer + 1)) with
    n_layer = hparams.n_layer = block_count (GLM-4.5: "n_layer = 93", "offloaded 94/94 layers"), or
    n_layer_all, the same count, in releases after the tensor_category refactor."""
    return a.layers + a.gguf_mtp_blocks


def n_cpu_moe_pattern(i: int) -> str:
    """common/common.h llm_ffn_exps_block_regex(i): the routed experts of layer i."""
    return rf"blk\.{i}\.ffn_(up|down|gate|gate_up)_(ch|)exps"


class LTensor(NamedTuple):
    """One tensor as llama.cpp names it, with its bytes."""

    name: str  # "blk.3.ffn_up_exps.weight"
    layer: int  # -1 the input layer (token_embd), n_layer the output layer, else the repeating layer
    bytes: int
    matrix: bool  # a 2-D weight (row split applies; the op-offload copy applies)
    expert: bool  # a routed expert's tensor


class OffloadSettings(NamedTuple):
    """llama.cpp's placement flags, as the request gives them."""

    n_gpu_layers: int | None  # -ngl; None: every layer and the output (-ngl 999)
    cpu_moe: bool  # --cpu-moe
    n_cpu_moe: int  # --n-cpu-moe
    overrides: tuple  # -ot: ((pattern, device name), ...) in order
    tensor_split: tuple | None  # -ts proportions, one per GPU; None: free memory
    split_mode: str  # --split-mode layer | row | none
    no_kv_offload: bool  # --no-kv-offload / -nkvo


DEFAULT_SETTINGS = OffloadSettings(None, False, 0, (), None, "layer", False)


# calc/tensors.py numbers a layer's norms; llama.cpp names them (llama-arch.cpp LLM_TENSOR_NAMES), by
# how many a layer has: pre-norm layers two, Gemma 2/3 and OLMo 2 style four.
NORM_NAMES = {
    1: ("attn_norm",),
    2: ("attn_norm", "ffn_norm"),
    4: ("attn_norm", "post_attention_norm", "ffn_norm", "post_ffw_norm"),
}


def _llama_name(base: str, norms: int) -> str:
    m = re.fullmatch(r"norm(\d)(_bias)?", base)
    if m and norms in NORM_NAMES and int(m[1]) < norms:
        return NORM_NAMES[norms][int(m[1])] + ("_b" if m[2] else "")
    return base


def llama_tensors(model, weights, format_id: str, bpw: float | None) -> tuple[LTensor, ...]:
    """Every tensor with its llama.cpp name and bytes under the format.  A GGUF file's own sizes
    (gguf_file) scale each layer's generated tensors to the file's per-layer expert and other bytes."""
    from calc import catalog

    a = model.arch
    fmt = catalog.formats()["q8_0" if format_id == "gguf_file" else format_id]
    # typed as the file holds them, the skipped MTP blocks included (llama-quant.cpp counts them), then left out
    types = tensor_types(a, fmt, file_tensors(a, model.tensors, fmt), bpw)[: len(model.tensors)]
    n, slots = a.layers, gguf_blocks(a)
    out = []
    for t, d in zip(model.tensors, types, strict=True):
        b = d.tensor_bytes(t.rows, t.cols, t.count)
        if t.layer >= 0:
            name, layer = f"blk.{t.layer}.{_llama_name(t.name, a.norms_per_layer)}.weight", t.layer
        elif t.name == "token_embd":
            name, layer = "token_embd.weight", -1
        else:
            name, layer = f"{t.name}.weight", slots
        out.append(LTensor(name, layer, b, t.rows > 1 and t.kind != "other", t.expert))
    if not weights.head:  # tied: llama.cpp loads token_embd again as the output (TENSOR_DUPLICATED)
        out.append(LTensor("output.weight", slots, weights.embed, True, False))
    return _scaled(tuple(out), weights, n, slots)


def _scaled(tensors: tuple[LTensor, ...], w, n: int, slots: int) -> tuple[LTensor, ...]:
    """Tensors rescaled so each group sums to the weights' own figure (exact for generated weights)."""
    sums: dict = {}
    for t in tensors:
        key = ("e" if t.expert else "d", t.layer) if 0 <= t.layer < n else ("x", t.layer, t.name == "output.weight")
        sums[key] = sums.get(key, 0) + t.bytes
    want: dict = {}
    for i in range(n):
        want[("e", i)] = w.expert_per_layer[i]
        want[("d", i)] = w.per_layer[i] - w.expert_per_layer[i]
    want[("x", -1, False)] = w.embed
    want[("x", slots, True)] = w.head or w.embed
    want[("x", slots, False)] = w.final_norm
    out = []
    for t in tensors:
        key = ("e" if t.expert else "d", t.layer) if 0 <= t.layer < n else ("x", t.layer, t.name == "output.weight")
        have, goal = sums.get(key, 0), want.get(key)
        out.append(t if not have or goal is None or goal == have else t._replace(bytes=round(t.bytes * goal / have)))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Placement


def device_index(name: str, gpus: tuple[Device, ...], field: str) -> int:
    """-ot's device: CPU, or a GPU by llama.cpp name (CUDA0, ROCm1, MTL0) or GPU<i>."""
    key = name.strip()
    if key.upper() in ("CPU", "CPU_MAPPED"):
        return HOST
    m = re.fullmatch(r"(?:CUDA|ROCm|MTL|Metal|Vulkan|SYCL|GPU)(\d{1,2})", key, re.IGNORECASE)
    if m and int(m[1]) < len(gpus):
        return int(m[1])
    known = ", ".join(["CPU", *(g.name for g in gpus)])
    raise fail("bad_value", field, "unknown_device", field=field, value=show(name, 40), known=known)


def splits(gpus: tuple[Device, ...], tensor_split: tuple | None) -> list[float]:
    """Cumulative split points, normalised (llama-model.cpp: default each device's free memory)."""
    parts = list(tensor_split) if tensor_split and any(tensor_split) else [g.capacity_bytes for g in gpus]
    total = sum(parts)
    acc, out = 0.0, []
    for p in parts:
        acc += p
        out.append(acc / total)
    return out


def layer_devices(n_layer: int, gpus: tuple[Device, ...], st: OffloadSettings, output_first: bool) -> list[int]:
    """Device of every layer 0..n_layer (n_layer: the output layer), llama-model.cpp's rule:
    the GPU slots are the last ngl of the n_layer + 1 (output_first, PR #18148) or of the n_layer
    repeating ones, the output taking the slot after them (before it)."""
    ngl = n_layer + 1 if st.n_gpu_layers is None else st.n_gpu_layers
    start = max(n_layer + (1 if output_first else 0) - ngl, 0)
    act = min(ngl, n_layer + 1) if gpus else 0
    cuts = splits(gpus, st.tensor_split) if gpus else []
    out = []
    for il in range(n_layer + 1):
        if il < start or il - start >= act:
            out.append(HOST)
        elif st.split_mode != "layer":
            out.append(0)  # row and none: the layer's buffers on the main GPU
        else:
            x = (il - start) / act
            out.append(min(sum(1 for c in cuts[: len(gpus)] if c <= x), len(gpus) - 1))
    return out


def _all_overrides(st: OffloadSettings, gpus) -> list[tuple[str, int, str]]:
    """(pattern, device, source flag) in llama.cpp's order: -ot as given, then --cpu-moe, --n-cpu-moe."""
    out = [(p, device_index(d, gpus, "override_tensor"), "override_tensor") for p, d in st.overrides]
    if st.cpu_moe:
        out.append((CPU_MOE, HOST, "cpu_moe"))
    out += [(n_cpu_moe_pattern(i), HOST, "n_cpu_moe") for i in range(st.n_cpu_moe)]
    return out


class Layout(NamedTuple):
    """Where everything is: a device per tensor and per layer, and what each override matched."""

    layer_dev: list[int]
    tensor_dev: list[int]
    hits: list[tuple[str, int, str, int, int]]  # pattern, device, flag, tensors, bytes


def layout(tensors: tuple[LTensor, ...], n_layer: int, gpus, st: OffloadSettings, output_first: bool) -> Layout:
    layer_dev = layer_devices(n_layer, gpus, st, output_first)
    rules = []
    for pattern, dev, flag in _all_overrides(st, gpus):
        try:
            rules.append((re.compile(pattern), pattern, dev, flag))
        except re.error as exc:
            bad = show(pattern, 60)
            raise fail("bad_value", "override_tensor", "ot_regex", field="override_tensor", value=bad, reason=str(exc)) from None
    counts = [[0, 0] for _ in rules]
    devs = []
    for t in tensors:
        dev = HOST if t.layer < 0 else layer_dev[min(t.layer, n_layer)]
        for k, (rx, _p, d, _f) in enumerate(rules):
            if rx.search(t.name):
                dev = d
                counts[k][0] += 1
                counts[k][1] += t.bytes
                break
        devs.append(dev)
    hits = [(p, d, f, c[0], c[1]) for (_, p, d, f), c in zip(rules, counts, strict=True)]
    return Layout(layer_dev, devs, hits)


class DeviceParts(NamedTuple):
    weights: int
    kv: int
    compute: int
    overhead: int

    @property
    def total(self) -> int:
        return self.weights + self.kv + self.compute + self.overhead


def evaluate(plan, tensors, machine: Machine, st: OffloadSettings, context: int, batch: int) -> tuple[list[DeviceParts], Layout]:
    """Bytes on each GPU and (last) on the host for one llama.cpp run, and the layout behind them."""
    a, engine, es = plan.arch, plan.engine, plan.settings
    gpus = machine.gpus
    n, slots = a.layers, gguf_blocks(a)
    lay = layout(tensors, slots, gpus, st, engine.output_layer_first)
    ng = len(gpus)
    w = [0.0] * (ng + 1)  # index ng: the host
    cuts = splits(gpus, st.tensor_split) if gpus else []
    shares = [cuts[0], *(cuts[i] - cuts[i - 1] for i in range(1, ng))] if ng else []
    host_layer_work = any(d == HOST for d in lay.layer_dev[:n])  # whole layers run on the CPU
    biggest_host = 0
    for t, dev in zip(tensors, lay.tensor_dev, strict=True):
        if dev == HOST:
            w[ng] += t.bytes
            if 0 <= t.layer < n and t.matrix:
                biggest_host = max(biggest_host, t.bytes)
        elif st.split_mode == "row" and t.matrix and 0 <= t.layer < n and ng > 1:
            for i in range(ng):
                w[i] += t.bytes * shares[i]
        else:
            w[dev] += t.bytes
    kv = [0] * (ng + 1)
    for il, lk in enumerate(plan.layer_kv[:n]):
        dev = HOST if st.no_kv_offload or lay.layer_dev[il] == HOST else lay.layer_dev[il]
        if lk.state_bytes_per_seq:
            b = lk.state_bytes_per_seq * batch
        else:
            b = plan.cells(context, batch, lk.window) * lk.bytes_per_token
        kv[ng if dev == HOST else dev] += int(b)
    out_dev = lay.layer_dev[slots]
    busy = {*lay.layer_dev[:n], out_dev}  # devices that run a layer (an MTP slot runs nothing)
    ubatch = es.ubatch
    copy = biggest_host if ng and ubatch >= OP_OFFLOAD_MIN_BATCH and not machine.unified else 0
    compute = [0] * (ng + 1)
    for i in range(ng):
        extra = copy if i == 0 else 0  # the main GPU runs the offloaded products, even with -ngl 0
        # flash attention runs where the layer's KV is: ggml-cuda (CUDA, HIP) copies a quantized cache to F16
        cuda = gpus[i].vendor in CUDA_VENDORS and not st.no_kv_offload
        if i in busy:
            compute[i] = engine.activations(plan, context, batch, 1, out_dev == i, extra, cuda)
        elif extra:
            compute[i] = engine.activations(plan, context, batch, 1, False, extra, cuda)
    cells = plan.cells(context, batch, 0)
    u = min(ubatch, cells)
    compute[ng] = (a.hidden + cells) * u * 4  # the input embeddings and the F32 KQ mask, built on the host
    if host_layer_work or out_dev == HOST:
        compute[ng] += engine.activations(plan, context, batch, 1, out_dev == HOST, cuda=False)
    overhead = engine.runtime_bytes()
    parts = [DeviceParts(int(w[i]), kv[i], compute[i], overhead) for i in range(ng)]
    parts.append(DeviceParts(int(w[ng]), kv[ng], compute[ng], 0))
    return parts, lay


def capacities(machine: Machine, parts: list[DeviceParts]) -> list[int | None]:
    """What each device may hold: the GPUs' usable bytes; the RAM (None: not given), on unified
    memory what the GPU leaves of the pool."""
    caps: list[int | None] = [g.capacity_bytes for g in machine.gpus]
    if machine.unified:
        caps.append(machine.ram.memory_bytes - parts[0].total)
    else:
        caps.append(machine.ram.capacity_bytes or None)
    return caps


def fits(machine: Machine, parts: list[DeviceParts], margin: int = 0) -> bool:
    caps = capacities(machine, parts)
    gpu_ok = all(p.total + margin <= c for p, c in zip(parts[:-1], caps[:-1], strict=True))
    host_cap = caps[-1]
    return gpu_ok and (host_cap is None or parts[-1].total <= host_cap)


def mapped_span(tensors: tuple[LTensor, ...], tensor_dev: list[int]) -> int:
    """Bytes from the first to the last host tensor in file order, every tensor between included:
    what llama.cpp maps and prints as the CPU_Mapped model buffer (one file; a split GGUF maps one such
    range per file, so it can print a little less, the GPU tensors at each file's edges)."""
    host = [i for i, d in enumerate(tensor_dev) if d == HOST]
    return sum(t.bytes for t in tensors[host[0] : host[-1] + 1]) if host else 0


def per_device(machine: Machine, parts: list[DeviceParts]) -> list[DeviceMemory]:
    caps = capacities(machine, parts)
    out = []
    for d, p, c in zip((*machine.gpus, machine.ram), parts, caps, strict=True):
        out.append(
            DeviceMemory(
                d.name,
                d.id,
                d.label,
                d.kind,
                p.weights,
                p.kv,
                p.compute,
                p.overhead,
                p.total,
                c,
                None if c is None else p.total <= c,
            )
        )
    return out


def _ranges(layers: list[int]) -> list[list[int]]:
    """Sorted layer numbers as [first, last] runs."""
    out: list[list[int]] = []
    for i in layers:
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def placement(plan, tensors, machine: Machine, st: OffloadSettings, lay: Layout) -> Placement:
    n, slots = plan.arch.layers, gguf_blocks(plan.arch)
    names = [g.name for g in machine.gpus]

    def name(dev: int) -> str:
        return "CPU" if dev == HOST else names[dev]

    layers = {name(d): _ranges([i for i in range(n) if lay.layer_dev[i] == d]) for d in [*range(len(names)), HOST]}
    expert_cpu = sorted(
        {
            t.layer
            for t, d in zip(tensors, lay.tensor_dev, strict=True)
            if t.expert and d == HOST and lay.layer_dev[t.layer] != HOST
        }
    )
    ngl = slots + 1 if st.n_gpu_layers is None else min(st.n_gpu_layers, slots + 1)
    cuts = splits(machine.gpus, st.tensor_split) if machine.gpus else []
    split = [round(c - (cuts[i - 1] if i else 0), 4) for i, c in enumerate(cuts)]
    hits = [OverrideHit(p, name(d), f, c, b) for p, d, f, c, b in lay.hits]
    return Placement(
        ngl,
        {k: v for k, v in layers.items() if v},
        name(lay.layer_dev[slots]),
        "CPU",
        _ranges(expert_cpu),
        "CPU" if st.no_kv_offload else "with each layer",
        split,
        st.split_mode,
        hits,
    )


# ---------------------------------------------------------------------------------------------
# The planner: llama.cpp's --fit (src/llama.cpp llama_params_fit_impl, PR #16653)


def _total_gpu(parts: list[DeviceParts]) -> int:
    return sum(p.total for p in parts[:-1])


def fit_llamacpp(plan, tensors, machine: Machine, context: int, batch: int, goal: str, native: int, margin: int = FIT_MARGIN):
    """Settings that fit every GPU with `margin` free, in llama.cpp's order:
        1. every layer on the GPUs at the context; if each GPU keeps `margin` free, done
        2. (goal "context": the context is not set, llama.cpp starts from the trained window) reduce
           the context, not below FIT_MIN_CTX, until the GPUs' summed surplus covers the margins
        3. MoE: if the dense part fits with every routed expert in RAM, move the experts of the first
           layers to RAM (--n-cpu-moe) as few as fit; else (and for dense models) fewer layers on the
           GPUs (-ngl), as many as fit
    llama.cpp interpolates step 3 from two probe loads; here the smallest --n-cpu-moe and the largest
    -ngl that fit are searched on the memory model directly.  Returns (settings, context, FitPlan)."""
    gpus = machine.gpus
    steps: list[str] = []
    st = DEFAULT_SETTINGS
    ctx = native if goal == "context" else context

    def run(s, c):
        if len(gpus) > 1 and s.n_gpu_layers is None:
            s = s._replace(tensor_split=balanced_split(plan, tensors, machine, s, c, batch, margin))
        return evaluate(plan, tensors, machine, s, c, batch)[0]

    def surplus(parts) -> int:
        caps = capacities(machine, parts)
        return sum(c - p.total - margin for p, c in zip(parts[:-1], caps[:-1], strict=True))

    def ok(parts) -> bool:  # llama.cpp fits device memory only; the RAM is checked on the result
        caps = capacities(machine, parts)
        return all(p.total + margin <= c for p, c in zip(parts[:-1], caps[:-1], strict=True))

    parts = run(st, ctx)
    if not gpus:
        return st, ctx, _plan(plan.engine.id, machine, st, ctx, goal, margin, parts, ["no GPU: everything in RAM"])
    if ok(parts):
        return st, ctx, _plan(plan.engine.id, machine, st, ctx, goal, margin, parts, ["every layer on the GPUs: fits as is"])
    if goal == "context" and native > FIT_MIN_CTX:
        lo, hi = FIT_MIN_CTX, native
        if surplus(run(st, lo)) >= 0:
            while hi - lo > 256:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if surplus(run(st, mid)) >= 0 else (lo, mid)
            ctx = lo
            steps.append(f"context reduced from {native} to {ctx}")
            parts = run(st, ctx)
            if ok(parts):
                return st, ctx, _plan(plan.engine.id, machine, st, ctx, goal, margin, parts, steps)
        else:
            ctx = FIT_MIN_CTX
            steps.append(f"context reduced from {native} to {ctx} (the minimum), not enough")
    n = plan.arch.layers
    if plan.arch.experts:
        dense = st._replace(cpu_moe=True)
        if ok(run(dense, ctx)):
            lo, hi = 0, n  # smallest n_cpu_moe that fits
            while lo < hi:
                mid = (lo + hi) // 2
                if ok(run(st._replace(n_cpu_moe=mid), ctx)):
                    hi = mid
                else:
                    lo = mid + 1
            st = st._replace(n_cpu_moe=lo)
            steps.append(f"routed experts of the first {lo} layers in RAM (--n-cpu-moe {lo})")
            if len(gpus) > 1:
                st = st._replace(tensor_split=balanced_split(plan, tensors, machine, st, ctx, batch, margin))
                steps.append(f"layers per GPU {', '.join(f'{x:g}' for x in st.tensor_split)} (-ts)")
            parts = run(st, ctx)
            return st, ctx, _plan(plan.engine.id, machine, st, ctx, goal, margin, parts, steps)
        st = dense
        steps.append("the dense part does not fit with every expert in RAM: fewer layers on the GPUs")
    slots = gguf_blocks(plan.arch)
    lo, hi = 0, slots + 1  # largest n_gpu_layers that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(run(st._replace(n_gpu_layers=mid), ctx)):
            lo = mid
        else:
            hi = mid - 1
    st = st._replace(n_gpu_layers=lo)
    parts = run(st, ctx)
    steps.append(f"{lo} of {slots + 1} layers (the output counted) on the GPUs (-ngl {lo})")
    return st, ctx, _plan(plan.engine.id, machine, st, ctx, goal, margin, parts, steps)


def balanced_split(plan, tensors, machine: Machine, st: OffloadSettings, ctx: int, batch: int, margin: int) -> tuple:
    """Layers per GPU for a multi-GPU fit, as llama.cpp's --fit writes them into tensor_split: each
    GPU in turn takes contiguous layers while its bytes (the layers' GPU tensors and KV, its compute
    buffer and overhead) stay within its capacity less the margin; the last takes the rest and the
    output layer.  Falls back to a split by capacity when the layers do not fit."""
    gpus = machine.gpus
    n, slots = plan.arch.layers, gguf_blocks(plan.arch)
    lay = layout(tensors, slots, (gpus[0],), st._replace(tensor_split=None, split_mode="layer"), plan.engine.output_layer_first)
    cost = [0] * (slots + 1)  # an MTP slot costs nothing: skipped at load, no KV
    for t, d in zip(tensors, lay.tensor_dev, strict=True):
        if d != HOST and t.layer >= 0:
            cost[t.layer] += t.bytes
    if not st.no_kv_offload:
        for il, lk in enumerate(plan.layer_kv[:n]):
            cost[il] += (
                lk.state_bytes_per_seq * batch
                if lk.state_bytes_per_seq
                else plan.cells(ctx, batch, lk.window) * lk.bytes_per_token
            )
    mid = plan.engine.activations(plan, ctx, batch, 1, False) + plan.engine.runtime_bytes()
    last = plan.engine.activations(plan, ctx, batch, 1, True) + plan.engine.runtime_bytes()
    extra0 = max(
        (t.bytes for t, d in zip(tensors, lay.tensor_dev, strict=True) if d == HOST and 0 <= t.layer < n and t.matrix), default=0
    )
    counts, il = [], 0
    for i, g in enumerate(gpus):
        if i == len(gpus) - 1:
            counts.append(slots + 1 - il)
            break
        budget = g.capacity_bytes - margin - mid - (extra0 if i == 0 else 0)
        used, start = 0, il
        # leave at least the output layer for the last GPU
        while il < slots and used + cost[il] <= budget:
            used += cost[il]
            il += 1
        counts.append(il - start)
    return (
        tuple(float(c) for c in counts) if all(c >= 0 for c in counts) and last else tuple(float(g.capacity_bytes) for g in gpus)
    )


def _plan(engine_id, machine, st, ctx, goal, margin, parts, steps) -> FitPlan:
    caps = capacities(machine, parts)
    short_dev, short = None, 0
    for d, p, c, g in zip((*machine.gpus, machine.ram), parts, caps, [*([margin] * len(machine.gpus)), 0], strict=True):
        if c is not None and p.total + g - c > short:
            short_dev, short = d.name, p.total + g - c
    ok = short_dev is None
    return FitPlan(
        engine_id,
        goal,
        ok,
        margin,
        ctx,
        None if st.n_gpu_layers is None else st.n_gpu_layers,
        st.n_cpu_moe,
        st.cpu_moe,
        steps,
        None if ok else short,
        short_dev,
    )


# ---------------------------------------------------------------------------------------------
# Speed


def offload_speed(
    plan, tensors, machine: Machine, parts: list[DeviceParts], lay: Layout, prompt: int, batch: int, params
) -> OffloadSpeed:
    """Decode and prefill estimates for a placement (labelled estimates: rooflines and measured bands);
    `prompt`: the tokens of each sequence's prompt (T = prompt x batch below).

        bytes read per token on a device = its dense weights + its routed experts x touched / E + its KV
        touched     = E x (1 - (1 - k/E)^batch)                      (calc/speed.py)
        step        = sum over devices of bytes read / bandwidth     (the devices work in turn)
        decode      = batch / step tokens/s, the ceiling
        range       = batch / (GPU seconds / GPU band + RAM seconds / RAM share), low ends together
                      and high ends together: the GPU side at llama.cpp's decode band (calc/speed.py),
                      the RAM side at the share measured runs reached (memory.toml [offload_decode],
                      recomputed from calc/data/offload_validation.json by its test)
        prefill     = 2 x active params x T / (main GPU's TFLOPS) + T / n_ubatch x host weights / PCIe
                      (weights in RAM stream to the GPU once per micro-batch of >= 32 tokens)
        range       = compute over the measured prefill band, plus the transfer over the link's
                      measured share (calc/data/memory.toml measured_share, from the runs of
                      calc/data/offload_validation.json: tests/test_offload_validation.py recomputes it)
    A device of unknown bandwidth (a GPU given by size alone) leaves the estimate null."""
    from calc import speed as sp

    a = plan.arch
    ng = len(machine.gpus)
    read = [0.0] * (ng + 1)
    touched = a.experts * (1 - (1 - a.experts_active / a.experts) ** batch) if a.experts else 0
    for t, dev in zip(tensors, lay.tensor_dev, strict=True):
        if t.name == "token_embd.weight":
            continue  # one row per token
        b = t.bytes * touched / a.experts if t.expert and a.experts else t.bytes
        read[ng if dev == HOST else dev] += b
    for i, p in enumerate(parts):
        read[i] += p.kv
    devices = (*machine.gpus, machine.ram)
    if any(read[i] and not devices[i].bandwidth_bytes_per_s for i in range(ng + 1)):
        return OffloadSpeed(None, None, None, None, None, None, int(sum(read[:ng])), int(read[ng]), "unknown bandwidth")
    gpu_s = sum(read[i] / devices[i].bandwidth_bytes_per_s for i in range(ng) if read[i])
    ram_s = read[ng] / devices[ng].bandwidth_bytes_per_s if read[ng] else 0.0
    decode = batch / (gpu_s + ram_s)
    band = sp.efficiency(plan.engine.id, "decode")
    drange = None
    if band:
        low, high = decode_ram_share()
        drange = [round(batch / (gpu_s / band.low + ram_s / low), 2), round(batch / (gpu_s / band.high + ram_s / high), 2)]
    prefill = prange = transfer = None
    main = machine.gpus[0] if ng else None
    tokens = prompt * batch
    if main and main.tflops:
        compute = 2 * params.active_no_embed * tokens / (main.tflops * 1e12)
        host_w = parts[-1].weights - (plan.weights.embed if plan.weights.embed else 0)
        stream = 0.0
        if host_w > 0 and plan.settings.ubatch >= OP_OFFLOAD_MIN_BATCH and machine.link_bandwidth_bytes_per_s:
            stream = math.ceil(tokens / plan.settings.ubatch) * host_w / machine.link_bandwidth_bytes_per_s
        prefill, transfer = round(compute + stream, 3), round(stream, 3)
        pband = sp.efficiency(plan.engine.id, "prefill")
        share = link_share(machine.link)
        if pband:
            prange = [round(compute / pband.high + stream / share[1], 3), round(compute / pband.low + stream / share[0], 3)]
    tokens_for = prompt if prefill is not None else None
    return OffloadSpeed(
        round(decode, 2), drange, prefill, prange, transfer, tokens_for, int(sum(read[:ng])), int(read[ng]), "roofline"
    )


def link_share(link: str) -> tuple[float, float]:
    """[low, high] share of the link's bandwidth weight copies reached in measured runs; (1, 1) where
    none was measured (unified memory copies nothing)."""
    from calc.machine import link_presets

    row = link_presets().get(link) or {}
    low, high = row.get("measured_share", (1.0, 1.0))
    return float(low), float(high)


# ---------------------------------------------------------------------------------------------
# Commands

GGUF_KV = {
    "f16": "f16",
    "bf16": "bf16",
    "f32": "f32",
    "q8_0": "q8_0",
    "q4_0": "q4_0",
    "q5_0": "q5_0",
    "q5_1": "q5_1",
    "q4_1": "q4_1",
    "iq4_nl": "iq4_nl",
}


def llama_server(
    model_name: str, quant: str, kv_id: str, st: OffloadSettings, ctx: int, batch: int, es, n_layer: int, ngpus: int
) -> str:
    """The llama-server line of this run (common/arg.cpp flag names)."""
    file = f"{model_name.split('/')[-1]}-{quant.upper()}.gguf" if quant != "gguf_file" else model_name
    parts = ["llama-server", "-m", file, "-c", str(ctx * batch), "-np", str(batch)]
    parts += ["-ngl", str(n_layer + 1 if st.n_gpu_layers is None else st.n_gpu_layers)]
    for p, d in st.overrides:
        parts += ["-ot", f"'{p}={d}'"]
    if st.cpu_moe:
        parts.append("--cpu-moe")
    if st.n_cpu_moe:
        parts += ["--n-cpu-moe", str(st.n_cpu_moe)]
    if st.tensor_split and ngpus > 1:
        parts += ["-ts", ",".join(f"{x:g}" for x in st.tensor_split)]
    if st.split_mode != "layer":
        parts += ["-sm", st.split_mode]
    if st.no_kv_offload:
        parts.append("-nkvo")
    parts += ["-fa", "on" if es.flash_attention else "off"]
    if es.swa_full:
        parts.append("--swa-full")
    kv = GGUF_KV.get(kv_id, "f16")
    if kv != "f16":
        parts += ["-ctk", kv, "-ctv", kv]
    if es.ubatch != 512:
        parts += ["-ub", str(es.ubatch)]
    return " ".join(parts)


VLLM_QUANT = {"awq": "awq", "gptq": "gptq", "fp8": "fp8", "bnb_nf4": "bitsandbytes", "bnb_int8": "bitsandbytes"}
VLLM_KV = {"fp8": "fp8", "fp8_e4m3": "fp8_e4m3", "fp8_e5m2": "fp8_e5m2"}


def vllm_serve(
    repo: str, quant: str, kv_id: str, tp: int, max_len: int, util: float, seqs: int, offload_gb: float, kv_bytes: int | None
) -> str:
    parts = ["vllm", "serve", repo, "--tensor-parallel-size", str(tp), "--max-model-len", str(max_len)]
    parts += ["--gpu-memory-utilization", f"{util:g}", "--max-num-seqs", str(seqs)]
    if kv_id in VLLM_KV:
        parts += ["--kv-cache-dtype", VLLM_KV[kv_id]]
    if quant in VLLM_QUANT:
        parts += ["--quantization", VLLM_QUANT[quant]]
    if offload_gb:
        parts += ["--cpu-offload-gb", f"{offload_gb:g}"]
    if kv_bytes:
        parts += ["--kv-cache-memory-bytes", str(kv_bytes)]
    return " ".join(parts)


def transformers_snippet(repo: str, gpu_bytes: list[int], ram_bytes: int | None) -> str:
    mem = ", ".join(f'{i}: "{b // 2**30}GiB"' for i, b in enumerate(gpu_bytes))
    if ram_bytes:
        mem += f', "cpu": "{ram_bytes // 2**30}GiB"'
    return (
        "from transformers import AutoModelForCausalLM\n"
        f'model = AutoModelForCausalLM.from_pretrained("{repo}", torch_dtype="auto", device_map="auto", '
        f"max_memory={{{mem}}})"
    )


def command(**kw) -> OffloadCommand:
    return OffloadCommand(kw.get("llama_server"), kw.get("vllm_serve"), kw.get("transformers"))


__all__ = [
    "DEFAULT_SETTINGS",
    "FIT_MARGIN",
    "HOST",
    "PLACEMENTS",
    "LTensor",
    "OffloadSettings",
    "evaluate",
    "fit_llamacpp",
    "layout",
    "llama_tensors",
]


# ---------------------------------------------------------------------------------------------
# The answer for a request with devices (calc/estimate.py calls it)


def settings_of(req) -> OffloadSettings:
    return OffloadSettings(
        req.n_gpu_layers,
        bool(req.cpu_moe),
        req.n_cpu_moe or 0,
        req.override_tensor or (),
        req.tensor_split,
        req.split_mode or "layer",
        bool(req.no_kv_offload),
    )


def user_placed(req) -> bool:
    """Whether the request sets any placement flag (llama.cpp's --fit then leaves the layout alone)."""
    return any(
        v
        for v in (
            req.n_gpu_layers is not None,
            req.cpu_moe,
            req.n_cpu_moe,
            req.override_tensor,
            req.tensor_split,
            req.split_mode not in (None, "layer"),
        )
    )


def check(req, plan, tensors, machine: Machine, st: OffloadSettings, lay: Layout | None, warn) -> None:
    """Bad settings: errors naming the setting, or warnings (warn(code, **params))."""
    n, slots = plan.arch.layers, gguf_blocks(plan.arch)
    ng = len(machine.gpus)
    if st.tensor_split is not None and len(st.tensor_split) != ng:
        names = ", ".join(g.name for g in machine.gpus)
        raise fail("bad_value", "tensor_split", "ts_machine", field="tensor_split", n=len(st.tensor_split), gpus=ng, names=names)
    if st.n_cpu_moe and not plan.arch.experts:
        warn("offload_not_moe", setting="n_cpu_moe")
    if st.cpu_moe and not plan.arch.experts:
        warn("offload_not_moe", setting="cpu_moe")
    if st.n_cpu_moe > n:
        warn("offload_too_many_layers", setting="n_cpu_moe", value=st.n_cpu_moe, layers=n)
    if st.n_gpu_layers is not None and st.n_gpu_layers > slots + 1:
        warn("offload_too_many_layers", setting="n_gpu_layers", value=st.n_gpu_layers, layers=slots + 1)
    if lay is not None:
        for p, _d, flag, count, _b in lay.hits:
            if flag == "override_tensor" and not count:
                warn("override_matches_nothing", pattern=p)


def answer(req, model, plan, engine, kv_id: str, native: int, warn):
    """The Offload answer: per device, placement, plan, speed and command (see the module docstring),
    by the engine's placement (Engine.placement, a key of PLACEMENTS)."""
    from calc.machine import machine as make_machine

    m = make_machine(req.devices, req.ram, req.ram_bandwidth, req.gpu_share)
    if m.unified and req.ram is not None:
        warn("unified_ram_ignored")
    return PLACEMENTS[engine.placement](req, model, plan, engine, kv_id, native, m, warn)


def _layers_answer(req, model, plan, engine, kv_id, native, m: Machine, warn):
    """llama.cpp: every tensor, KV layer and compute buffer on a device (layout), --fit's settings
    where the request sets no placement, the speed and the llama-server line."""
    from calc.result import Offload

    tensors = model.derived.setdefault("llama_tensors", {}).get((req.quant, req.bpw))
    if tensors is None:
        tensors = model.derived["llama_tensors"][(req.quant, req.bpw)] = llama_tensors(model, plan.weights, req.quant, req.bpw)
    st = settings_of(req)
    check(req, plan, tensors, m, st, None, warn)
    context = req.context
    fit_plan = None
    do_fit = req.fit if req.fit is not None else not user_placed(req)
    if do_fit and not user_placed(req):
        goal = req.fit_goal or "layers"
        st, context, fit_plan = fit_llamacpp(plan, tensors, m, req.context, req.batch, goal, native)
        if not fit_plan.fits:
            warn("fit_short", device=fit_plan.short_device, short=fit_plan.short_bytes)
    elif req.fit:
        warn("fit_user_set")
    parts, lay = evaluate(plan, tensors, m, st, context, req.batch)
    check(req, plan, tensors, m, st, lay, warn)
    rows = per_device(m, parts)
    rows[-1] = rows[-1]._replace(mapped_bytes=mapped_span(tensors, lay.tensor_dev))
    ok = all(r.fits is not False for r in rows)
    if rows[-1].fits is False:
        warn("ram_exceeded", need=rows[-1].total_bytes, capacity=rows[-1].capacity_bytes)
    for r in rows[:-1]:
        if r.fits is False:
            warn("device_exceeded", device=r.device, need=r.total_bytes, capacity=r.capacity_bytes)
    if not m.unified and not m.ram.memory_bytes and parts[-1].total > 2**30:
        warn("ram_not_given", need=parts[-1].total)
    prompt = min(req.prompt_tokens, context) if req.prompt_tokens else context  # the planner's context may be shorter
    speed = offload_speed(plan, tensors, m, parts, lay, prompt, req.batch, model.params)
    name = model.repo or model.name
    blocks = gguf_blocks(plan.arch)
    cmd = command(llama_server=llama_server(name, req.quant, kv_id, st, context, req.batch, plan.settings, blocks, len(m.gpus)))
    return Offload(rows, placement(plan, tensors, m, st, lay), fit_plan, ok, speed, cmd)


def _pool_answer(req, model, plan, engine, kv_id, native, m: Machine, warn):
    """vLLM on the machine's GPUs: tensor parallel over all of them, --cpu-offload-gb of weights per
    GPU in pinned RAM (streamed over PCIe every step), the KV pool of what gpu_memory_utilization leaves
    (or --kv-cache-memory-bytes), and the longest --max-model-len that pool holds."""
    from calc.memory.plan import split_shape
    from calc.result import Offload

    n = len(m.gpus)
    if not n:
        raise fail("bad_value", "devices", "vllm_no_gpu", field="devices")
    if len({g.capacity_bytes for g in m.gpus}) > 1:
        warn("vllm_mixed_gpus")
    st = plan.settings
    util = st.gpu_memory_utilization
    cap = int(min(g.capacity_bytes for g in m.gpus) * util)
    tp, _ = split_shape(engine, n)
    per = plan.per_gpu(req.context, req.batch, n)
    offload = int((req.cpu_offload_gb or 0) * 2**30)
    rows, pools = [], []
    for g, p in zip(m.gpus, per, strict=True):
        w = max(0, p.weights - offload)
        fixed = w + p.activations + p.overhead
        pool = req.kv_cache_memory if req.kv_cache_memory else cap - fixed
        pools.append(pool)
        total = fixed + max(pool, 0)
        rows.append(
            DeviceMemory(
                g.name, g.id, g.label, "gpu", w, max(pool, 0), p.activations, p.overhead, total, cap, pool > 0 and total <= cap
            )
        )
    host_w = sum(min(offload, p.weights) for p in per)
    ram_cap = m.ram.capacity_bytes or None
    rows.append(
        DeviceMemory(
            "CPU", None, m.ram.label, "ram", host_w, 0, 0, 0, host_w, ram_cap, None if ram_cap is None else host_w <= ram_cap
        )
    )
    pool = min(pools)
    per_token = plan.kv_bytes_per_token_on_rank(tp, n)
    block = engine.block_size
    tokens = (pool // per_token) // block * block if pool > 0 and per_token else 0
    max_len = min(native, tokens)
    one_seq = per_token * req.context
    seqs = max(0, min(st.max_num_seqs, pool // one_seq)) if pool > 0 and one_seq else 0
    steps = [f"KV pool {pool / 2**30:.2f} GiB per GPU at --gpu-memory-utilization {util:g}: {tokens} tokens"]
    short = short_dev = None
    if pool <= 0 or max_len < req.context:
        need = max(0, req.context * per_token - max(pool, 0))
        short, short_dev = int(need), m.gpus[0].name
        steps.append(
            f"short by {need / 2**30:.2f} GiB per GPU for one sequence of {req.context} tokens; "
            f"--cpu-offload-gb {math.ceil(need / 2**30)} more would free it"
        )
        warn("fit_short", device=short_dev, short=short)
    fplan = FitPlan(engine.id, "max_model_len", short is None, 0, max_len, None, 0, False, steps, short, short_dev)
    gpu_read = sum(max(0, p.weights - offload) for p in per) / tp  # each rank reads its own shard
    bw = min(g.bandwidth_bytes_per_s for g in m.gpus)
    speed = OffloadSpeed(None, None, None, None, None, None, int(gpu_read * tp), host_w, "unknown bandwidth")
    if bw:
        step = gpu_read / bw + (host_w / m.link_bandwidth_bytes_per_s if host_w and m.link_bandwidth_bytes_per_s else 0)
        decode = req.batch / step
        from calc import speed as sp

        band = sp.efficiency(engine.id, "decode")
        speed = OffloadSpeed(
            round(decode, 2),
            [round(decode * band.low, 2), round(decode * band.high, 2)] if band else None,
            None,
            None,
            None,
            None,
            int(gpu_read * tp),
            host_w,
            "roofline",
        )
    cmd = command(
        vllm_serve=vllm_serve(
            model.repo or model.name,
            req.quant,
            kv_id,
            tp,
            max(max_len, 1) if max_len else req.context,
            util,
            seqs or st.max_num_seqs,
            req.cpu_offload_gb or 0,
            req.kv_cache_memory,
        )
    )
    ok = all(r.fits is not False for r in rows)
    return Offload(rows, None, fplan, ok, speed, cmd)


def _device_map_answer(req, model, plan, engine, kv_id, native, m: Machine, warn):
    """transformers device_map="auto": layers fill the GPUs in order, the rest goes to the CPU
    (accelerate infer_auto_device_map with max_memory); per device here is the layer split of the
    memory plan over the GPUs, no CPU part modelled."""
    from calc.result import Offload

    per = plan.per_gpu(req.context, req.batch, max(1, len(m.gpus)))
    rows = []
    for g, p in zip(m.gpus, per, strict=False):
        rows.append(
            DeviceMemory(
                g.name,
                g.id,
                g.label,
                "gpu",
                p.weights,
                p.kv_cache,
                p.activations,
                p.overhead,
                p.total,
                g.capacity_bytes,
                p.total <= g.capacity_bytes,
            )
        )
    rows.append(
        DeviceMemory(
            "CPU", None, m.ram.label, "ram", 0, 0, 0, 0, 0, m.ram.capacity_bytes or None, True if m.ram.capacity_bytes else None
        )
    )
    cmd = command(
        transformers=transformers_snippet(
            model.repo or model.name, [int(g.capacity_bytes * 0.9) for g in m.gpus], m.ram.capacity_bytes or None
        )
    )
    speed = OffloadSpeed(None, None, None, None, None, None, 0, 0, "not modelled for transformers")
    return Offload(rows, None, None, all(r.fits is not False for r in rows), speed, cmd)


# Engine.placement -> the function that places the model on a machine:
# (req, model, plan, engine, kv_id, native window, machine, warn) -> calc.result.Offload.
PLACEMENTS = {"layers": _layers_answer, "pool": _pool_answer, "device_map": _device_map_answer}
