"""One estimate: resolve the request, build the memory plan, and answer everything a user asks.

The answer is a typed tree (calc/result.py documents every field); nothing here formats units.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from types import SimpleNamespace
from typing import NamedTuple

from calc import catalog, i18n, recommend
from calc.cache import lru
from calc.catalog import Gpu
from calc.engines import Engine, Settings, engine_for
from calc.errors import CalcError
from calc.formats import effective_bpw, weight_bytes
from calc.gguf_model import gguf_model
from calc.memory.kv_cache import layer_kv
from calc.memory.plan import Parts, Plan, split_shape, total_parts
from calc.model import Model, catalog_model, custom_model, describe
from calc.request import ENGINE_KNOBS, FILE_FORMAT, Request
from calc.result import (
    SCHEMA,
    CurvePoint,
    EngineInfo,
    Estimate,
    Fit,
    FormatInfo,
    FormatSize,
    GpuShare,
    KvInfo,
    Memory,
    Notice,
    Range,
    Recommendation,
)
from calc.speed import speed
from calc.units import fmt_gib, fmt_tokens

# JavaScript numbers hold integers exactly up to 2^53: results past it would show rounded on the page.
MAX_EXACT_BYTES = 2**53

_TORCH_TO_KV = {"bfloat16": "bf16", "float16": "f16", "float32": "f32"}

# Context points of the memory-against-context chart: powers of two from 1k to 1M, plus the request;
# a model whose window is longer gets the powers of two up to it and the window itself (curve_contexts).
CURVE_POINTS = tuple(1 << k for k in range(10, 21))

# Plans, weight tables and format lists are kept with their model (Model.derived), each kind in an
# LRU of this many entries: a page session asks for the same few again and again, and a custom model
# evicted from calc/model.py's cache takes all of them with it.
DERIVED_SIZES = {
    "plans": 256,
    "weights": 64,
    "format_plans": 64,
    "format_sizes": 16,
    "curves": 256,
    "recommendations": 256,
    "max_context": 64,
}


def derived(model: Model, kind: str, key, make):
    """model.derived[kind][key], made by make() on a miss (an LRU of DERIVED_SIZES[kind] entries)."""
    cache = model.derived.get(kind)
    if cache is None:
        cache = model.derived[kind] = OrderedDict()
    return lru(cache, key, make, DERIVED_SIZES[kind])


def resolve_model(req: Request) -> Model:
    model = _resolve_model(req)
    if req.mmproj is not None:
        from calc.gguf_model import with_mmproj

        return with_mmproj(model, req.mmproj[0], req.mmproj_name)
    return model


def _resolve_model(req: Request) -> Model:
    if req.hub is not None:
        from calc.hub import hub_gguf_model, hub_model

        if req.gguf is not None:
            return hub_gguf_model(req.gguf, req.gguf_name, req.hub)
        return hub_model(req.config, req.safetensors or (), req.hub)
    if req.gguf is not None:
        return gguf_model(req.gguf, req.gguf_name)
    return custom_model(req.config) if req.config is not None else catalog_model(req.model)


def model_weights(model: Model, format_id: str, bpw: float | None):
    """The weights' bytes of a model in a format, kept with the model: a GGUF file's own under
    gguf_file (which no other model has), a Hub checkpoint's own (its safetensors headers) under
    native, else every tensor under the format's rules."""
    if format_id == "native" and model.checkpoint is not None:
        return model.checkpoint
    if format_id == FILE_FORMAT:
        if model.stored is None:
            raise CalcError("bad_value", "quant", f"quant {FILE_FORMAT} (as stored in the file) needs a GGUF file: give gguf")
        return model.stored
    return derived(model, "weights", (format_id, bpw), lambda: weight_bytes(model.arch, model.tensors, format_id, bpw))


def offered(model: Model, fmt) -> bool:
    """Whether a format applies to this model: gguf_file only to a model read from a GGUF file, a
    format with an expert type (MXFP4_MOE) only to a mixture of experts."""
    if fmt.expert_type and model.arch.experts <= 1:
        return False
    return fmt.id != FILE_FORMAT or model.stored is not None


# Formats that set the dtype the model runs in (vLLM --dtype, transformers torch_dtype): a KV cache of
# "auto" is that dtype (vllm/config/cache.py: cache_dtype "auto" uses the model dtype; 42.80 GiB for 175,296
# tokens of Llama-3.1-8B under --dtype float32, 4 bytes an element: calc/data/validation.json).
_RUN_DTYPE_KV = {"fp32": "f32", "fp16": "f16", "bf16": "bf16"}


def kv_type_id(req: Request, model: Model, engine: Engine) -> str:
    """The KV type: as asked, or the engine's default ("auto" = the dtype the model runs in: the float
    format asked for, else the checkpoint's 16-bit dtype)."""
    kv = req.kv_cache if req.kv_cache != "auto" else engine.default_kv_cache
    if kv == "auto":
        if req.quant in _RUN_DTYPE_KV:
            return _RUN_DTYPE_KV[req.quant]
        kv = _TORCH_TO_KV.get(model.arch.dtype.lower(), "bf16")
        kv = "bf16" if kv == "f32" else kv
    return kv


def build_plan(model: Model, format_id: str, bpw: float | None, kv_id: str, engine: Engine, st: Settings) -> Plan:
    """The memory plan of a (model, format, KV type, engine, settings), cached."""
    return derived(
        model, "plans", (format_id, bpw, kv_id, engine, st), lambda: make_plan(model, format_id, bpw, kv_id, engine, st)
    )


def make_plan(model: Model, format_id: str, bpw: float | None, kv_id: str, engine: Engine, st: Settings) -> Plan:
    dtypes = catalog.dtypes()
    kv_type = dtypes[catalog.kv_types()[kv_id].dtype]
    # K and V share one type: llama.cpp's -ctk/-ctv are set together here; a quantized V without
    # flash attention is refused by llama.cpp, and a warning says so.
    state = dtypes["f32"] if engine.state_dtype == "f32" else dtypes[_TORCH_TO_KV.get(model.arch.dtype.lower(), "bf16")]
    weights = engine.stored_weights(model.arch, model.tensors, model_weights(model, format_id, bpw), format_id, bpw, st)
    fmt = catalog.formats()[format_id]
    return Plan(model.arch, weights, layer_kv(model.arch, engine, kv_type, kv_type, state), engine, fmt, st)


def measured_range(total: Parts, engine_id: str) -> Range | None:
    """The total as a range: each part of the breakdown moved by the largest relative error measured
    for it against real runs of this engine (catalog.accuracy()); None for an engine with no records.

        low  = sum(part * (1 - max_error)) + overhead      high = sum(part * (1 + max_error)) + overhead

    An engine whose records measure the three parts together (transformers' peak: "peak_bytes") moves
    their sum by that error.
    """
    spread = catalog.accuracy().get(engine_id)
    if not spread:
        return None
    parts = {"weights_bytes": total.weights, "kv_cache_bytes": total.kv_cache, "activations_bytes": total.activations}
    parts["peak_bytes"] = total.weights + total.kv_cache + total.activations
    delta = sum(v * spread[k]["max_error"] for k, v in parts.items() if k in spread)
    return Range(int(total.total - delta), int(total.total + delta), sum(spread[k]["n"] for k in parts if k in spread))


@lru_cache(maxsize=256)
def gpu_groups(engine: Engine, knobs: tuple) -> tuple[tuple[Settings, tuple[int, ...]], ...]:
    """The catalog's GPUs grouped by the settings the engine gives each under the request's knobs
    (ENGINE_KNOBS values, None where the request is silent): (settings, catalog positions).  One
    group for most engines; vLLM's batch defaults differ by GPU memory, so two."""
    req = SimpleNamespace(**dict(zip(ENGINE_KNOBS, knobs, strict=True)))
    groups: dict = {}
    for i, g in enumerate(catalog.gpus().values()):
        if not g.recommend:  # hardware input only (gpus.toml recommend = false)
            continue
        groups.setdefault(engine.settings(req, g), []).append(i)
    return tuple((st, tuple(members)) for st, members in groups.items())


def recommended(model: Model, req: Request, engine: Engine, kv_id: str) -> tuple[tuple[Recommendation, ...], int]:
    """The recommended setups and how many hold the request in all.  They depend on neither the
    GPU chosen nor its count, so they are kept with the model: picking another GPU reuses them.  The
    key is what the plans of the GPU groups are built from (format, bits, KV type, engine and its
    knobs), so a repeated question builds none of them."""
    knobs = tuple(getattr(req, k) for k in ENGINE_KNOBS)

    def make():
        groups = [
            (build_plan(model, req.quant, req.bpw, kv_id, engine, st), members) for st, members in gpu_groups(engine, knobs)
        ]
        recs, total = recommend.recommendations(groups, req.context, req.batch, req.recommend_limit)
        return tuple(recs), total

    key = (req.quant, req.bpw, kv_id, engine, knobs, req.context, req.batch, req.recommend_limit)
    return derived(model, "recommendations", key, make)


def longest_context(model: Model, plan: Plan, batch: int, gpus: int, cap: int, limit: int) -> int | None:
    """recommend.max_context, kept with the model: it depends on the plan, the sequences, the GPU
    count, the capacity and the window, not on the context asked for, so dragging the context slider
    searches once (the page's default, a 480B model over 4 GPUs, spent a quarter of each answer on it)."""
    return derived(
        model, "max_context", (plan, batch, gpus, cap, limit), lambda: recommend.max_context(plan, batch, gpus, cap, limit)
    )


def curve_points(plan: Plan, contexts: list[int], batch: int, gpus: int) -> list[CurvePoint]:
    """Memory against context, every GPU summed; points past 2^53 bytes, which the page would show
    rounded like such a total, are left out."""
    parts = plan.curve(contexts, batch, gpus)
    return [CurvePoint(c, *p, p.total) for c, p in zip(contexts, parts, strict=True) if p.total <= MAX_EXACT_BYTES]


def curve_contexts(window: int) -> list[int]:
    """CURVE_POINTS, and for a window past 1M the powers of two below it and the window itself, so
    the chart's x axis (to the larger of the window and the slider's 256k) always ends on a point."""
    extra, c = [], CURVE_POINTS[-1] << 1
    while c < window:
        extra.append(c)
        c <<= 1
    return [*CURVE_POINTS, *extra, *([window] if window > CURVE_POINTS[-1] else [])]


def memory_curve(model: Model, plan: Plan, context: int, batch: int, gpus: int) -> tuple[CurvePoint, ...]:
    """The chart's points: curve_contexts (the same for every context of a plan, batch and GPU
    count: kept, so dragging the context slider computes one point) and the request's own context.
    A context among them gives the kept tuple itself (calc/result.py to_json then copies its rows)."""
    fixed = derived(
        model,
        "curves",
        (plan, batch, gpus),
        lambda: tuple(curve_points(plan, curve_contexts(native_window(model)), batch, gpus)),
    )
    if any(p.context == context for p in fixed):
        return fixed
    at = sum(1 for p in fixed if p.context < context)
    return (*fixed[:at], *curve_points(plan, [context], batch, gpus), *fixed[at:])


def native_window(model: Model) -> int:
    """The model's trained window: the publisher's figure where the catalog has one, else
    max_position_embeddings (Qwen3 states 32,768 and sets 40,960, room for the answer: the spec
    card, the context hint, the warnings and the longest context all say 32,768)."""
    official = model.official.get("context_length")
    return official if isinstance(official, int) else model.arch.max_context


# ---------------------------------------------------------------------------------------------
# Warnings


def unified_memory(req: Request) -> bool:
    """Whether the run's memory is one pool for CPU and GPU (the machine's devices where given, else
    the GPU): its warnings speak of the unified memory, not of system RAM and a GPU's memory."""
    from calc.machine import is_unified

    if req.devices is not None:
        return is_unified(req.devices)
    return req.gpu is not None and catalog.gpus()[req.gpu].is_unified


# Parameters of an engine's warnings that are bytes: the message shows each as "<name>_text" in GiB.
BYTE_PARAMS = ("size", "reserved")


def _warnings(
    req: Request, model: Model, plan: Plan, engine: Engine, kv_id: str, per_gpu: list[Parts], cap: int | None, unified: bool
) -> list[Notice]:
    """The estimate's warnings, in the words of a unified-memory machine where `unified`."""
    a = model.arch
    out = []

    def add(code: str, **params) -> None:
        out.append(Notice(code, params, i18n.t(code, req.lang, params, unified)))

    native = native_window(model)
    if req.context > native:
        add(
            "context_exceeds_native",
            context=req.context,
            native=native,
            context_text=fmt_tokens(req.context),
            native_text=fmt_tokens(native),
        )
    kv = catalog.kv_types()[kv_id]
    if not engine.loads_kv(kv):
        allowed = ", ".join(k.label for k in catalog.kv_types().values() if engine.loads_kv(k))
        add("kv_type_unsupported", engine=engine.label, kv=kv.label, allowed=allowed)
    for code, params in engine.kv_warnings(kv, plan.settings):
        add(code, **params)
    fmt = catalog.formats()[req.quant]
    if not engine.loads_format(fmt):
        add("format_engine", engine=engine.label, format=i18n.texts(req.lang)["values"]["format"].get(fmt.id, fmt.label))
    tp, _ = split_shape(engine, req.gpus)
    if engine.split == "tensor" and tp > 1 and (a.heads % tp or (a.kv_heads % tp and tp % a.kv_heads)):
        add("split_unsupported", heads=a.heads, kv_heads=a.kv_heads, tp=tp)
    if cap is not None and max(p.total for p in per_gpu) > cap and req.devices is None:  # else offload speaks for the run
        need = max(p.total for p in per_gpu)
        add("does_not_fit", need=need, capacity=cap, need_text=fmt_gib(need), capacity_text=fmt_gib(cap))
    for code, params in engine.memory_warnings(plan, cap):
        add(code, **params, **{f"{k}_text": fmt_gib(v) for k, v in params.items() if k in BYTE_PARAMS})
    if a.mla and engine.mla_cache == "full":
        latent = a.mla.kv_lora_rank + a.mla.qk_rope_head_dim
        full = a.heads * (a.mla.qk_nope_head_dim + a.mla.qk_rope_head_dim + a.mla.v_head_dim)
        add("mla_decompressed", ratio=round(full / latent))
    nq = a.native
    if req.quant == "native" and nq is not None:
        if nq.problem:
            add("native_quant_unknown", what=nq.problem, dtype=nq.base.id.upper())
        if nq.dtype_problem:
            add("native_dtype_unknown", dtype=nq.dtype_problem)
    if a.multimodal and not plan.vision_bytes:
        add("text_only")
    if a.mmproj_bytes:
        file = a.mmproj_name or "mmproj"
        if engine.loads_mmproj:
            add("mmproj_counted", file=file, size=a.mmproj_bytes, size_text=fmt_gib(a.mmproj_bytes))
        else:
            add("mmproj_ignored", file=file, engine=engine.label)
    if model.stored is not None:
        add("gguf_model", file=model.source.get("file") or model.name, file_type=model.source.get("file_type") or "?")
    elif model.custom:
        add("custom_model")
    return out


# ---------------------------------------------------------------------------------------------


class Setup(NamedTuple):
    """A request resolved: the model, the engine with its settings, the GPU, the KV type and the plan."""

    model: Model
    engine: Engine
    settings: Settings
    gpu: Gpu | None
    kv_id: str
    plan: Plan


def setup(req: Request, engine: Engine | None = None) -> Setup:
    """Resolve a request; `engine` replaces the catalog's (another release's constants, say)."""
    model = resolve_model(req)
    engine = (engine or engine_for(req.engine, req.engine_version)).for_request(req)
    gpu = catalog.gpus()[req.gpu] if req.gpu else None
    st = engine.settings(req, gpu)
    kv_id = kv_type_id(req, model, engine)
    return Setup(model, engine, st, gpu, kv_id, build_plan(model, req.quant, req.bpw, kv_id, engine, st))


def estimate(req: Request) -> Estimate:
    """The full answer for one request."""
    model, engine, st, gpu, kv_id, plan = setup(req)
    per_gpu = plan.per_gpu(req.context, req.batch, req.gpus if gpu else 1)
    total = total_parts(per_gpu)
    if total.total > MAX_EXACT_BYTES:
        raise CalcError(
            "out_of_range",
            "context",
            f"{fmt_gib(total.total)} is past what the page can show exactly (2^53 bytes); ask for fewer tokens or sequences",
        )
    cap = engine.capacity_bytes(gpu, st) if gpu else None
    fmt = catalog.formats()[req.quant]
    fit = max_context = limit = max_batch = best = None
    pool = {}
    if gpu:
        worst = max(p.total for p in per_gpu)
        fit = Fit(gpu.id, gpu.name, req.gpus, cap, worst, worst <= cap, cap - worst)
        limit = native_window(model)
        max_context = longest_context(model, plan, req.batch, req.gpus, cap, limit)
        max_batch = recommend.max_batch(plan, req.context, req.gpus, cap)
        best = recommend.best_format(_format_plans(model, kv_id, engine, st), req.context, req.batch, req.gpus, cap)
        pool = engine.pool(plan, per_gpu, cap, req.context) or {}
    recs, recs_total = recommended(model, req, engine, kv_id) if req.recommend else ((), 0)
    unified = unified_memory(req)
    offload, offload_notes = your_machine(req, model, plan, engine, kv_id, unified)
    curve = ()
    if req.curve:
        curve = memory_curve(model, plan, req.context, req.batch, req.gpus if gpu else 1)
    return Estimate(
        ok=True,
        schema=SCHEMA,
        op=req.op,
        request={**req.as_dict(), "kv_cache": kv_id},
        model=describe(model),
        format=FormatInfo(fmt.id, fmt.label, round(effective_bpw(plan.weights, model.params.total), 3)),
        kv_cache=KvInfo(kv_id, catalog.kv_types()[kv_id].label),
        engine=EngineInfo(engine.id, engine.label, engine.version, st.as_dict()),
        memory=Memory(*total, total.total),
        range=measured_range(total, engine.id),
        kv_cache_bytes_per_token=plan.kv_bytes_per_token(),
        per_gpu=[GpuShare(i, *p, p.total, cap) for i, p in enumerate(per_gpu)],
        fit=fit,
        max_context=max_context,
        max_context_limit=limit,
        max_batch=max_batch,
        best_format=best,
        format_sizes=format_sizes(model, engine, req.bpw),
        kv_capacity_tokens=pool.get("kv_capacity_tokens"),
        max_concurrency=pool.get("max_concurrency"),
        kv_pool_bytes=pool.get("kv_pool_bytes"),
        speed=speed(plan, model.params, req.prompt_tokens or req.context, req.batch, gpu, req.gpus, total.kv_cache),
        recommendations=recs,
        recommendations_total=recs_total,
        curve=curve,
        warnings=[*_warnings(req, model, plan, engine, kv_id, per_gpu, cap, unified), *offload_notes],
        offload=offload,
    )


OFFLOAD_BYTE_PARAMS = ("need", "capacity", "short")  # byte parameters of the machine's warnings, shown in GiB


def your_machine(req: Request, model: Model, plan: Plan, engine: Engine, kv_id: str, unified: bool):
    """The machine answer (calc/offload.py) and its warnings (in the words of a unified-memory machine
    where `unified`); (None, []) without devices."""
    if req.devices is None:
        return None, []
    from calc import offload

    notes: list[Notice] = []

    def warn(code: str, **params) -> None:
        params |= {f"{k}_text": fmt_gib(v) for k, v in params.items() if k in OFFLOAD_BYTE_PARAMS and v is not None}
        notes.append(Notice(code, params, i18n.t(code, req.lang, params, unified)))

    return offload.answer(req, model, plan, engine, kv_id, native_window(model), warn), notes


def format_sizes(model: Model, engine: Engine, bpw: float | None) -> tuple[FormatSize, ...]:
    """Every format `engine` loads with the bytes of this model's weights in it (EXL2 at the chosen
    `bpw`, or its 4.0 default), in catalog order: weights_bytes = sum of each tensor's stored bytes."""

    def make():
        out = []
        for fmt in catalog.formats().values():
            if engine.loads_format(fmt) and offered(model, fmt):
                bits = (bpw or 4.0) if fmt.id == "exl2" else None  # 4.0: exllamav2 convert.py -b default (calc/request.py)
                wb = model_weights(model, fmt.id, bits)
                out.append(FormatSize(fmt.id, round(effective_bpw(wb, model.params.total), 3), wb.total))
        return tuple(out)

    return derived(model, "format_sizes", (engine.id, bpw), make)


UPCAST_SLACK_BPW = 0.01  # formats within this of the checkpoint's own bits count as the same precision


def _format_plans(model: Model, kv_id: str, engine: Engine, st: Settings) -> list[tuple[str, float, Plan]]:
    """(id, bits per weight, plan) of every format the engine loads, most bits first, up to the
    checkpoint's own precision: storing a BF16 checkpoint as FP32 (or an FP8 one as BF16) doubles its
    memory and adds nothing, so it is never the best format (since issue 11).  EXL2 needs a chosen
    bpw and is left out, and so are formats marked suggest = false (formats.toml)."""

    def make():
        native = effective_bpw(build_plan(model, "native", None, kv_id, engine, st).weights, model.params.total)
        out = []
        for fmt in sorted(catalog.formats().values(), key=lambda f: f.id != "native"):  # the checkpoint wins ties
            if engine.loads_format(fmt) and fmt.id != "exl2" and fmt.suggest and offered(model, fmt):
                plan = build_plan(model, fmt.id, None, kv_id, engine, st)
                bpw = effective_bpw(plan.weights, model.params.total)
                if bpw <= native + UPCAST_SLACK_BPW:
                    out.append((fmt.id, bpw, plan))
        return sorted(out, key=lambda f: -min(f[1], native))

    return derived(model, "format_plans", (kv_id, engine, st), make)
