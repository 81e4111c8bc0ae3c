"""vLLM: a paged KV pool that fills what gpu_memory_utilization leaves after the weights and the
profiled activation peak, tensor parallelism across GPUs.

Constants are in calc/data/engines.toml (row "vllm"), each with the file or release that set it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from calc.architecture import Architecture
from calc.catalog import Gpu
from calc.engines.base import Engine, Settings
from calc.formats import weight_bytes
from calc.memory.activations import F32, HALF, mlp_width
from calc.memory.kv_cache import pad
from calc.memory.plan import split_shape
from calc.tensors import Tensor


@dataclass(frozen=True)
class VllmSettings(Settings):
    gpu_memory_utilization: float  # --gpu-memory-utilization: the fraction of each GPU vLLM reserves
    max_num_batched_tokens: int  # --max-num-batched-tokens: tokens of one scheduler step
    max_num_seqs: int  # --max-num-seqs: requests of one step
    mxfp4_pad: tuple = ()  # (intermediate, hidden) multiples the MXFP4 MoE backend pads to, and tp; () none
    allreduce_fusion: bool = False  # the GPU is one vLLM fuses all-reduce + RMSNorm on (ALLREDUCE_FUSION_GPUS)

    # the MXFP4 padding and the all-reduce fusion follow from the GPU: not knobs
    HIDDEN: ClassVar[tuple[str, ...]] = ("mxfp4_pad", "allreduce_fusion")


# The MXFP4 MoE backend vLLM picks per GPU generation and the multiples it pads each expert's
# intermediate and hidden sizes to (vllm/model_executor/layers/quantization/mxfp4.py,
# get_mxfp4_backend and Mxfp4MoEMethod.create_weights; v0.10.1 through v0.2x):
#   marlin   every CUDA GPU without triton_kernels / FlashInfer support (Ampere, Ada, SM120):
#            intermediate to 128, hidden to 256 ("n % 256 == 0 and k % 128 == 0")
#   triton   Hopper with triton_kernels: intermediate to 64 in create_weights; the Hopper value
#            swizzle (triton_kernels HopperMXValueLayout) then stores the hidden side padded to 256,
#            which is what the logs measure (64.38 GiB for gpt-oss-120b, issue #33155)
#   sm100    Blackwell B200/B300 with FlashInfer (SM100_FI_MXFP4_BF16): both to 256
MXFP4_PADDING = {"marlin": (128, 256), "triton": (64, 256), "sm100": (256, 256)}
HOPPER = frozenset({"h100-pcie", "h100-sxm", "h100-nvl", "h200", "gh200-96gb"})
SM100 = frozenset({"b200", "b300"})

# The all-reduce + RMSNorm fusion (vllm/config/vllm.py enable_allreduce_rms_fusion, on by default since
# PR #34299, 0.17): TP > 1 on CUDA with FlashInfer and device capability 9.0 (Hopper) or the 10.x family
# (B200 10.0; B300 10.3 since PR #37755, 0.19), and only at world sizes FlashInfer's workspace takes
# (vllm/config/compilation.py FI_SUPPORTED_WORLD_SIZES; PassConfig.flashinfer_max_size is None elsewhere).
ALLREDUCE_FUSION_GPUS = HOPPER | SM100
ALLREDUCE_FUSION_WORLD_SIZES = (2, 4, 8)


def mxfp4_backend(gpu: Gpu | None, hopper_backend: str) -> str:
    """The MXFP4 MoE backend vLLM picks on this GPU ("" off CUDA or without a GPU)."""
    if gpu is None or gpu.vendor != "nvidia":
        return ""
    if gpu.id in SM100:
        return "sm100"
    return hopper_backend if gpu.id in HOPPER else "marlin"


def round_up(n: int, m: int) -> int:
    return -(-n // m) * m


def padded_experts(tensors: tuple, intermediate: int, hidden: int, pad_i: int, pad_h: int, tp: int) -> tuple:
    """gpt-oss expert tensors as vLLM allocates them: each rank's intermediate slice
    (intermediate / tp) rounded up to pad_i, the hidden size to pad_h; gate/up are
    [intermediate, hidden], down [hidden, intermediate], the biases follow their outputs."""
    i_pad = round_up(-(-intermediate // tp), pad_i) * tp
    h_pad = round_up(hidden, pad_h)
    out = []
    for t in tensors:
        if not t.expert:
            out.append(t)
        elif t.name in ("ffn_gate_exps", "ffn_up_exps"):
            out.append(Tensor(t.name, t.layer, i_pad, h_pad, t.kind, t.count, True))
        elif t.name == "ffn_down_exps":
            out.append(Tensor(t.name, t.layer, h_pad, i_pad, t.kind, t.count, True))
        elif t.name == "ffn_up_gate_exps_bias":
            out.append(Tensor(t.name, t.layer, 1, 2 * i_pad, t.kind, t.count, True))
        elif t.name == "ffn_down_exps_bias":
            out.append(Tensor(t.name, t.layer, 1, h_pad, t.kind, t.count, True))
        else:
            out.append(t)
    return tuple(out)


def cells(context: int, batch: int, window: int, block: int, max_batched: int) -> int:
    """Paged cache: each sequence holds ceil(context / block_size) blocks.  Sliding-window layers
    keep min(window - 1 + max_num_batched_tokens, context) tokens plus one block
    (vllm/v1/kv_cache_interface.py SlidingWindowSpec.max_memory_usage_bytes)."""
    if window:
        tokens = min(window - 1 + max_batched, context)
        return batch * (pad(tokens, block) + block) if tokens < context else batch * pad(context, block)
    return batch * pad(context, block)


def activation_bytes(
    a: Architecture, tokens: int, seqs: int, tp: int, width: int | None = None, sampler_bytes: int = 2 * F32
) -> int:
    """Profile-run peak on one rank (gpu_model_runner.profile_run): a dummy forward pass over
    T = max_num_batched_tokens tokens, then a dummy sampler pass over the logits of
    min(max_num_seqs, T) requests.  The forward pass's intermediates are freed before the sampler
    runs; its output hidden states are not:

        hidden  = 3 * T * n_embd * 2                   (residual, hidden states, attention output)
        mlp     = T * 3 * width / tp * 2               (gate_up output and activation; MoE: T * top_k rows)
        attn    = T * (n_head + 2 * n_kv) * head_dim / tp * 2
        forward = hidden + max(mlp, attn)
        sampler = T * n_embd * 2 + min(max_num_seqs, T) * n_vocab * sampler_bytes
        peak    = max(forward, sampler)

    sampler_bytes: 8 for V1, whose dummy sampler keeps float32 logits and probabilities with no
    top-k/top-p sort (gpu_model_runner._dummy_sampler_run); V0's profile sorted every row, about 38
    bytes per logit (calc/data/validation.json engine profiles).
    """
    hidden = 3 * tokens * a.hidden * HALF
    mlp = tokens * 3 * (width or mlp_width(a)) // tp * HALF
    attn = tokens * (a.heads + 2 * a.kv_heads) * a.head_dim // tp * HALF
    sampler = tokens * a.hidden * HALF + min(seqs, tokens) * a.vocab * sampler_bytes if seqs else 0
    return max(hidden + max(mlp, attn), sampler)


def kv_cache_groups(counts: tuple, ratio: float) -> tuple[int, int]:
    """(layers per group, groups) of vLLM's hybrid KV cache allocator for a model whose attention
    layers come in len(counts) types (full attention, each sliding window) of counts[i] layers with
    the same page size (vllm/v1/core/kv_cache_utils.py _get_kv_cache_groups_uniform_page_size):

        size   = min(counts), or max(counts) where max(counts) < ratio * min(counts) (PR #29303: 1.5)
        groups = sum(ceil(c / size))        the last group of each type padded to `size` layers

    Gemma 3 27B, 10 full + 52 sliding: size 10, 1 + 6 = 7 groups (8 padding layers, the log's
    "Add 8 padding layers"); gpt-oss-120b, 18 + 18: size 18, 2 groups.  One type, or ratio 0 (no
    hybrid allocator): one group of every layer."""
    if len(counts) < 2 or not ratio:
        return sum(counts), 1
    lo, hi = min(counts), max(counts)
    size = hi if hi < lo * ratio else lo
    return size, sum(-(-c // size) for c in counts)


def hybrid_tokens(pool: int, layer_bytes: int, size: int, groups: int, block: int) -> int:
    """The "GPU KV cache size: N tokens" the hybrid allocator prints: blocks of `size` layer pages
    (kv_cache_utils.get_kv_cache_config_from_groups: num_blocks = pool // page // size), shared by
    the groups in turn, so num_blocks // groups * block_size tokens (_report_kv_cache_config).
    layer_bytes: one layer's KV bytes per token on this rank; page = block * layer_bytes."""
    blocks = pool // (block * layer_bytes * size)
    return blocks // groups * block


def block_floor(tokens: int, block: int) -> int:
    """Round down to whole blocks."""
    return tokens // block * block if block > 1 else tokens


@dataclass(frozen=True)
class Vllm(Engine):
    block_size: int = 16
    gpu_memory_utilization: float = 0.9
    large_gpu_bytes: int = 0  # GPUs with at least this much memory get the larger batch defaults
    max_num_batched_tokens: int = 2048
    max_num_batched_tokens_large: int = 8192
    max_num_seqs: int = 256
    max_num_seqs_large: int = 1024
    sampler_bytes: int = 8  # bytes per logit the profiler's dummy sampler holds
    mxfp4_hopper_backend: str = "triton"  # the MXFP4 MoE backend on Hopper: "triton" or "marlin"
    non_torch_bytes: int = 0  # cuBLAS workspace and NCCL buffers outside PyTorch's allocator
    non_torch_fusion_bytes: int = 0  # non-torch memory per rank where the all-reduce fusion runs; 0 no fusion
    cuda_graph_bytes: int = 0  # CUDA graph pool, subtracted from the KV budget
    hybrid_group_ratio: float = 0.0  # hybrid KV cache allocator's grouping threshold (kv_cache_groups); 0 none

    placement: ClassVar[str] = "pool"  # tensor parallel over every GPU, --cpu-offload-gb, the KV pool

    def for_request(self, req) -> Engine:
        """--block-size: the request's KV block size replaces the release's constant."""
        return self.with_overrides(block_size=req.block_size) if req.block_size else self

    def large(self, gpu: Gpu | None) -> bool:
        """Whether `vllm serve` picks its larger batch defaults on this GPU: at least large_gpu_bytes
        of memory, the A100 excluded (vllm/engine/arg_utils.py get_batch_defaults)."""
        return (
            gpu is not None and bool(self.large_gpu_bytes) and gpu.memory_bytes >= self.large_gpu_bytes and "a100" not in gpu.id
        )

    def settings(self, req, gpu) -> VllmSettings:
        large = self.large(gpu)
        backend = mxfp4_backend(gpu, self.mxfp4_hopper_backend)
        # the ranks the intermediate size is cut into; the recommendation's per-GPU groups carry no
        # GPU count, and pad one rank's worth (the whole width: at most 2% more than per-rank padding)
        tp, _ = split_shape(self, max(1, getattr(req, "gpus", 1) or 1))
        return VllmSettings(
            gpu_memory_utilization=req.gpu_memory_utilization or self.gpu_memory_utilization,
            max_num_batched_tokens=req.max_num_batched_tokens
            or (self.max_num_batched_tokens_large if large else self.max_num_batched_tokens),
            max_num_seqs=req.max_num_seqs or (self.max_num_seqs_large if large else self.max_num_seqs),
            mxfp4_pad=(*MXFP4_PADDING[backend], tp) if backend else (),
            allreduce_fusion=gpu is not None and gpu.id in ALLREDUCE_FUSION_GPUS,
        )

    def stored_weights(self, arch: Architecture, tensors: tuple, weights, format_id: str, bpw, st: VllmSettings):
        """MXFP4 experts (gpt-oss, as shipped) padded the way the GPU's MoE backend allocates them;
        every other checkpoint as the tensors say."""
        if arch.quant_method != "mxfp4" or format_id != "native" or not st.mxfp4_pad:
            return weights
        pad_i, pad_h, tp = st.mxfp4_pad
        moe_width = arch.moe_intermediate or arch.intermediate
        return weight_bytes(arch, padded_experts(tensors, moe_width, arch.hidden, pad_i, pad_h, tp), format_id, bpw)

    def cells_rule(self, st: VllmSettings):
        block, max_batched = self.block_size, st.max_num_batched_tokens
        return lambda context, batch, window: cells(context, batch, window, block, max_batched)

    def activations(self, plan, context: int, batch: int, tp: int, last: bool) -> int:
        """The profiler's peak: it depends on neither the context nor the sequences, so once per plan."""
        st = plan.settings
        seqs = st.max_num_seqs if last else 0
        return plan.memo(
            ("vllm_act", tp, last),
            activation_bytes,
            plan.arch,
            st.max_num_batched_tokens,
            seqs,
            tp,
            plan.mlp_width,
            self.sampler_bytes,
        )

    def runtime_bytes(self, tp: int = 1, st: VllmSettings | None = None) -> int:
        """overhead + non-torch + CUDA graph memory per GPU. The non-torch part is non_torch_fusion_bytes
        where the release fuses all-reduce + RMSNorm (st.allreduce_fusion, tp in
        ALLREDUCE_FUSION_WORLD_SIZES): FlashInfer's workspace, allocated during the profile run, is
        in vLLM's "non-torch forward increase"; else non_torch_bytes."""
        fused = self.non_torch_fusion_bytes and st is not None and st.allreduce_fusion and tp in ALLREDUCE_FUSION_WORLD_SIZES
        non_torch = self.non_torch_fusion_bytes if fused else self.non_torch_bytes
        return self.overhead_bytes + non_torch + self.cuda_graph_bytes

    def capacity_bytes(self, gpu: Gpu, st: VllmSettings) -> int:
        """vLLM reserves exactly gpu_memory_utilization of the total PyTorch reports for each GPU
        (torch.cuda.mem_get_info, vllm/utils/mem_utils.py MemorySnapshot; below nvidia-smi's total),
        whatever the model needs (vllm/config/cache.py)."""
        return int(gpu.framework_bytes * st.gpu_memory_utilization)

    def memory_warnings(self, plan, cap: int | None) -> list[tuple[str, dict]]:
        return [("vllm_reserves", {"reserved": cap})] if cap is not None else []

    def hybrid_layout(self, plan, tp: int, gpus: int) -> tuple | None:
        """(one layer's KV bytes per token on a rank, layers per group, groups, {window: layers}) where
        the hybrid allocator groups this model's layers: more than one attention type, every layer the
        same page size, one pipeline stage, a release with the allocator (hybrid_group_ratio); else None.
        Layers of unequal page sizes (vLLM scales their block sizes, unify_kv_cache_spec_page_size) and
        models with recurrent state keep the every-layer count."""
        windows, sizes = plan.attention_layout(tp)
        counts = dict(windows)
        stages = split_shape(self, gpus)[1]
        if not self.hybrid_group_ratio or len(counts) < 2 or len(sizes) != 1 or stages != 1 or plan.has_state:
            return None
        size, groups = kv_cache_groups(tuple(counts.values()), self.hybrid_group_ratio)
        return int(next(iter(sizes))), size, groups, counts

    def pool_bytes_per_token(self, plan, tp: int, gpus: int) -> int:
        """Pool bytes per token vLLM prints: every layer's KV bytes per token on the fullest rank, or
        with the hybrid allocator one layer's x layers per group x groups (70 layers' worth for
        Gemma 3 27B's 62)."""
        hybrid = self.hybrid_layout(plan, tp, gpus)
        if hybrid:
            layer_bytes, size, groups, _ = hybrid
            return layer_bytes * size * groups
        return plan.kv_bytes_per_token_on_rank(tp, gpus)

    def pool(self, plan, per_gpu: list, cap: int, context: int) -> dict:
        """The KV pool on the tightest GPU, in tokens and in sequences of `context` tokens.

        pool   = capacity - weights - activation peak - non-torch and CUDA graph memory
        tokens = pool / (bytes per token of that GPU, every attention layer counted as full), in whole
                 blocks: vLLM sizes its pool as if every layer kept every token (vllm/v1/core/kv_cache_utils.py);
                 with the hybrid allocator, pool // (block x layer bytes x layers per group) blocks,
                 // groups x block tokens (hybrid_tokens)
        concurrency = pool / (KV bytes of one sequence of `context` tokens on that GPU); with the
                 hybrid allocator blocks / blocks one request needs, summed over the groups: a full
                 group ceil(context / block), a sliding one ceil(min(window - 1 + max_num_batched_tokens,
                 context) / block) + 1 (kv_cache_utils.get_max_concurrency_for_kv_cache_config,
                 kv_cache_interface.SlidingWindowSpec.max_memory_usage_bytes)
        """
        gpus = len(per_gpu)
        pool = min(cap - (p.weights + p.activations + p.overhead) for p in per_gpu)
        if pool <= 0:
            return {"kv_capacity_tokens": 0, "max_concurrency": 0.0, "kv_pool_bytes": 0}
        tp, _ = split_shape(self, gpus)
        block = self.block_size
        hybrid = self.hybrid_layout(plan, tp, gpus)
        if hybrid:
            layer_bytes, size, groups, counts = hybrid
            blocks = pool // (block * layer_bytes * size)
            batched = plan.settings.max_num_batched_tokens
            per_request = sum(
                -(-c // size) * (-(-min(w - 1 + batched, context) // block) + 1 if w else -(-context // block))
                for w, c in counts.items()
            )
            return {
                "kv_capacity_tokens": hybrid_tokens(pool, layer_bytes, size, groups, block),
                "max_concurrency": round(blocks / per_request, 2),
                "kv_pool_bytes": pool,
            }
        per_token = plan.kv_bytes_per_token_on_rank(tp, gpus)
        tokens = block_floor(pool // per_token, block) if per_token else 0
        one_seq = max(p.kv_cache for p in plan.per_gpu(context, 1, gpus))
        return {
            "kv_capacity_tokens": tokens,
            "max_concurrency": round(pool / one_seq, 2) if one_seq else None,
            "kv_pool_bytes": pool,
        }
