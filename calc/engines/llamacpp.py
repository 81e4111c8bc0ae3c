"""llama.cpp: a unified KV cache of n_ctx cells, one compute buffer reserved for the worst
micro-batch, layers split over GPUs (--split-mode layer), the token embeddings on the host.

Constants are in calc/data/engines.toml (row "llama.cpp"), each with the source and pull request
that set it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from calc import catalog
from calc.architecture import Architecture
from calc.catalog import KvType
from calc.engines.base import Engine, Settings
from calc.memory.activations import F32, HALF, mlp_width
from calc.memory.kv_cache import attention_rows, pad

# KV element types llama.cpp keeps V in without flash attention: a quantized V needs it
# (llama-context.cpp: "V cache quantization requires flash_attn").
UNQUANTIZED = ("f32", "f16", "bf16")
# GPU vendors whose llama.cpp backend is ggml-cuda (CUDA, and HIP for AMD): its flash attention
# kernels for a ubatch read K and V as F16 (ggml/src/ggml-cuda/fattn.cu).
CUDA_VENDORS = ("nvidia", "amd")


@dataclass(frozen=True)
class LlamaCppSettings(Settings):
    flash_attention: bool  # --flash-attn
    ubatch: int  # --ubatch-size: tokens per micro-batch, which sizes the compute buffer
    swa_full: bool = False  # --swa-full: sliding-window layers cache every token
    f16_scratch: bool = False  # the compute buffer holds F16 copies of a non-F16 K and V (follows from the build and GPU)

    HIDDEN: ClassVar[tuple[str, ...]] = ("f16_scratch",)  # follows from the release, KV type and GPU: not a knob


def cells(context: int, batch: int, window: int, ctx_pad: int, ubatch: int, swa: bool = True) -> int:
    """Unified cache: n_ctx = context * batch cells (-c counts every sequence's tokens), padded to
    ctx_pad.  Windowed layers (iswa cache) hold pad(min(n_ctx, window * batch + n_ubatch)) cells
    (llama-kv-cache-iswa.cpp size_swa, unified streams); with --swa-full, or in builds before the
    SWA cache (PR #13194), `swa` is false and they hold n_ctx like every other layer
    ("when using full-size SWA cache, we set the SWA cache size to be equal to the base cache size")."""
    full = pad(context * batch, ctx_pad)
    if not window or not swa:
        return full
    return min(full, pad(window * batch + ubatch, ctx_pad))


def f16_scratch_bytes(plan, context: int, batch: int) -> int:
    """F16 copies of one layer's K and V that ggml-cuda reserves after the flash-attention output
    (fattn-common.cuh ggml_cuda_flash_attn_ext_get_f16_extra_data, fattn.cu get_alloc_size; since
    PR #23907): for the ubatch graph the MMA or tile kernel runs, which reads F16 only, so a K (V)
    of any other type gets a copy of ggml_nelements(K) halves, the whole cache view of the layer:

        scratch = max over attention layers of cells(layer) * (k_elems [K not F16] + v_elems [V not F16]) * 2

    An MLA cache without V (V a view of K) copies K once.  The op's output is freed after the layer's
    output projection, so one layer's copy is alive at a time."""
    k_elems, v_elems, _ = attention_rows(plan.arch, plan.engine)
    width = (k_elems + v_elems) * HALF
    best = 0
    for window in plan.windows:
        best = max(best, plan.cells(context, batch, window))
    return best * width


def compute_bytes(
    a: Architecture,
    ubatch: int,
    cells: int,
    flash: bool,
    with_output: bool,
    tp: int = 1,
    width: int | None = None,
    output_rows: int | None = None,
    ffn_extra: int = 0,
    kv_scratch: int = 0,
) -> int:
    """Compute buffer for one GPU (llama-context.cpp graph_reserve, ggml-alloc reuse):

        mask    = cells * u * 2 with flash attention (F16), cells * u * 4 without (F32)
        output  = n_vocab * rows * 4 (logits) + 2 * n_embd * u * 4               (GPU holding output.weight)
        ffn     = u * (4 * n_embd + 3 * ffn_width) * 4                  (input, norm, output, residual; gate, up, act)
        attn_fa = u * (n_embd + 2 * n_head * head_dim) * 4
        attn    = n_head * cells * u * 4 + u * (n_embd + 2 * n_head * head_dim) * 4   (no flash attention)
        buffer  = mask + max(output, ffn, attn)     with u = min(n_ubatch, cells)

    The KQ mask is a graph input the scheduler copies onto the GPU for the whole graph, so it is
    alive in every phase.  Without flash attention the softmax runs in place on KQ (ggml-alloc
    reuses the parent of an in-place op), one [cells, u, n_head] F32 tensor.  `ffn_extra` is alive
    in the FFN phase only: a weight in host memory copied in for an offloaded product (calc/offload.py).  `output_rows` is the
    number of logit rows reserved: the ubatch by default (n_outputs_max = n_batch), or one per
    sequence under llama-server since PR #23861 (engines.toml output_rows).  `kv_scratch` is alive
    in the attention phase only: the F16 copy of a quantized K and V (f16_scratch_bytes).
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
    return mask + max(out, ffn + ffn_extra, attn + kv_scratch)


@dataclass(frozen=True)
class LlamaCpp(Engine):
    flash_attention: bool = False  # default of --flash-attn
    ubatch: int = 512  # default of --ubatch-size
    ctx_pad: int = 256  # n_ctx is rounded up to a multiple of this
    ctx_pad_no_fa: int = 0  # ... and to a multiple of this without flash attention (0: ctx_pad)
    output_rows: str = "ubatch"  # logits reserved for every "ubatch" token or one row per "sequences"
    swa_cache: bool = True  # sliding-window layers get a cache of their own, window + ubatch cells (PR #13194)
    swa_full: bool = False  # default of --swa-full
    kv_f16_scratch: bool = False  # ggml-cuda reserves F16 copies of a non-F16 K/V in the compute buffer (PR #23907)
    output_layer_first: bool = True  # -ngl N: the output layer and the last N - 1 layers on GPUs (PR #18148)

    CHOICES: ClassVar[dict] = {**Engine.CHOICES, "output_rows": ("ubatch", "sequences")}
    loads_mmproj: ClassVar[bool] = True  # --mmproj: tools/mtmd loads the projector file beside the model
    placement: ClassVar[str] = "layers"  # src/llama-model.cpp load_tensors, common --fit

    def settings(self, req, gpu) -> LlamaCppSettings:
        """The request's knobs; the F16 scratch applies with flash attention on a CUDA or HIP GPU (or
        none given: the estimate then assumes one) when the KV type is not F16."""
        flash = self.flash_attention if req.flash_attention is None else req.flash_attention
        kv = self.default_kv_cache if req.kv_cache in (None, "auto") else req.kv_cache
        kv_type = catalog.kv_types().get(kv)
        cuda = gpu is None or gpu.vendor in CUDA_VENDORS
        return LlamaCppSettings(
            flash_attention=flash,
            ubatch=req.ubatch or self.ubatch,
            swa_full=self.swa_full if getattr(req, "swa_full", None) is None else req.swa_full,
            f16_scratch=bool(self.kv_f16_scratch and flash and cuda and kv_type is not None and kv_type.dtype != "f16"),
        )

    def cells_rule(self, st: LlamaCppSettings):
        ctx_pad, ubatch = self.ctx_pad if st.flash_attention else self.ctx_pad_no_fa or self.ctx_pad, st.ubatch
        swa = self.swa_cache and not st.swa_full
        return lambda context, batch, window: cells(context, batch, window, ctx_pad, ubatch, swa)

    def activations(self, plan, context: int, batch: int, tp: int, last: bool, ffn_extra: int = 0, cuda: bool = True) -> int:
        """The compute buffer of one device; `cuda` false for one whose flash attention reads the
        quantized cache itself (the CPU, Metal, Vulkan)."""
        st = plan.settings
        rows = batch if self.output_rows == "sequences" else None
        full = plan.cells(context, batch, 0)
        scratch = f16_scratch_bytes(plan, context, batch) if st.f16_scratch and cuda else 0
        return compute_bytes(plan.arch, st.ubatch, full, st.flash_attention, last, tp, plan.mlp_width, rows, ffn_extra, scratch)

    def ignores_window(self, arch: Architecture) -> bool:
        """Phi-3's window: "Phi SWA is currently disabled" (llama-model.cpp LLM_ARCH_PHI3 sets
        swa_type NONE whatever the GGUF says, https://github.com/ggml-org/llama.cpp/pull/13676)."""
        return arch.llamacpp_ignores_window

    def kv_warnings(self, kv: KvType, st: LlamaCppSettings) -> list[tuple[str, dict]]:
        out = []
        if kv.dtype not in UNQUANTIZED and not st.flash_attention:
            out.append(("quant_v_needs_flash", {"kv": kv.label}))
        if st.f16_scratch:
            out.append(("kv_f16_scratch", {"kv": kv.label}))
        return out

    def memory_warnings(self, plan, cap: int | None) -> list[tuple[str, dict]]:
        if self.embeddings_on_host:
            return [("embeddings_on_host", {"size": plan.weights.embed})]
        return []
