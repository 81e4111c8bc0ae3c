"""The memory model: weights + KV cache + activations + overhead, per GPU, for one setup.

A :class:`Plan` fixes everything but the context, the number of sequences and the GPU count: the
model, the weight format, the KV types and the engine.  It precomputes per-layer bytes once so that
:meth:`Plan.per_gpu` costs a few additions per GPU; the recommendations, the reverse solvers and the
memory-against-context curve call it many times per request.

Splitting over N GPUs:
    tensor split (vLLM): every rank holds 1/tp of each layer (KV heads split, max(1, n_kv // tp) per
        rank; an MLA latent whole on every rank); more than 8 GPUs are 8-way tensor parallel
        stages of a pipeline.
    layer split (llama.cpp --split-mode layer, transformers device_map="auto"): GPU i holds a
        contiguous run of layers and their KV; the last also holds the output head.
"""

from __future__ import annotations

from dataclasses import dataclass

from calc.architecture import Architecture
from calc.catalog import Engine, Format
from calc.formats import WeightBytes
from calc.memory import activations
from calc.memory.kv_cache import LayerKv, llamacpp_cells, pad, transformers_cells, vllm_cells

MAX_TP = 8  # GPUs in one node: tensor parallelism beyond a node becomes pipeline stages


@dataclass(frozen=True)
class Parts:
    """Bytes one GPU holds."""

    weights: int
    kv_cache: int
    activations: int
    overhead: int

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.activations + self.overhead


@dataclass(frozen=True)
class Settings:
    """Engine knobs of a request, defaults filled in."""

    flash_attention: bool
    ubatch: int
    gpu_memory_utilization: float
    max_num_batched_tokens: int
    max_num_seqs: int


def split_shape(engine: Engine, gpus: int) -> tuple[int, int]:
    """(tensor-parallel ranks, pipeline stages) for `gpus` GPUs under the engine's split."""
    if engine.split == "tensor":
        tp = min(gpus, MAX_TP)
        return tp, max(1, gpus // tp)
    return 1, gpus


def stage_bounds(layers: int, stages: int) -> list[tuple[int, int]]:
    """Contiguous layer ranges of near-equal length, one per stage."""
    edges = [round(i * layers / stages) for i in range(stages + 1)]
    return [(edges[i], edges[i + 1]) for i in range(stages)]


class Plan:
    """Per-layer bytes of one (model, format, KV type, engine), ready to evaluate per GPU."""

    def __init__(self, arch: Architecture, weights: WeightBytes, layer_kv: tuple[LayerKv, ...],
                 engine: Engine, fmt: Format, settings: Settings):
        self.arch = arch
        self.weights = weights
        self.layer_kv = layer_kv
        self.engine = engine
        self.settings = settings
        self.windows = sorted({lk.window for lk in layer_kv if not lk.state_bytes_per_seq})
        on_host = engine.embeddings_on_host or fmt.embed_on_host
        self.embed_gpu = 0 if on_host else weights.embed
        # Tied embeddings: llama.cpp duplicates the table onto the GPU as the output layer
        # (TENSOR_DUPLICATED in llama-model.cpp); elsewhere the head shares the embedding.
        self.head_gpu = weights.head or (weights.embed if on_host else 0)
        self._stages: dict = {}

    # -- per-stage sums, cached per (tp, stages) --------------------------------------------------

    def _shard(self, lk: LayerKv, tp: int) -> float:
        if lk.state_bytes_per_seq:
            return 1 / tp
        if not lk.shardable:
            return 1.0  # MLA latent: every rank keeps all of it
        kv = self.arch.kv_heads
        return max(1, kv // tp) / kv

    def _stage_sums(self, tp: int, stages: int) -> list[tuple]:
        key = (tp, stages)
        if key not in self._stages:
            out = []
            bounds = stage_bounds(self.arch.layers, stages)
            for s, (lo, hi) in enumerate(bounds):
                w = sum(self.weights.per_layer[lo:hi]) / tp
                if s == 0:
                    w += self.embed_gpu / tp
                if s == stages - 1:
                    w += (self.head_gpu + self.weights.final_norm) / tp
                per_window = {win: 0.0 for win in self.windows}
                state = 0.0
                for lk in self.layer_kv[lo:hi]:
                    share = self._shard(lk, tp)
                    if lk.state_bytes_per_seq:
                        state += lk.state_bytes_per_seq * share
                    else:
                        per_window[lk.window] += lk.bytes_per_token * share
                out.append((int(w), per_window, state, s == stages - 1))
            self._stages[key] = out
        return self._stages[key]

    # -- cells ------------------------------------------------------------------------------------

    def cells(self, context: int, batch: int, window: int) -> int:
        """Cached tokens (all sequences) of a layer with this window (0 = full attention)."""
        e, st = self.engine, self.settings
        if e.id == "llama.cpp":
            return llamacpp_cells(context, batch, window, e, st.ubatch)
        if e.id == "vllm":
            return vllm_cells(context, batch, window, e, st.max_num_batched_tokens)
        return transformers_cells(context, batch, window)

    def _activations(self, context: int, batch: int, tp: int, last: bool) -> int:
        a, e, st = self.arch, self.engine, self.settings
        if e.id == "llama.cpp":
            return activations.llamacpp_compute_bytes(a, st.ubatch, self.cells(context, batch, 0), st.flash_attention, last, tp)
        if e.id == "vllm":
            return activations.vllm_activation_bytes(a, st.max_num_batched_tokens, st.max_num_seqs if last else 0, tp)
        return activations.transformers_activation_bytes(a, context * batch, batch if last else 0, tp)

    def overhead(self) -> int:
        e = self.engine
        return e.overhead_bytes + e.non_torch_bytes + e.cuda_graph_bytes

    # -- evaluation -------------------------------------------------------------------------------

    def per_gpu(self, context: int, batch: int, gpus: int) -> list[Parts]:
        """Bytes on each GPU, one entry per GPU (tensor-parallel ranks repeat their stage's)."""
        tp, stages = split_shape(self.engine, gpus)
        cells = {win: self.cells(context, batch, win) for win in self.windows}
        out = []
        for w, per_window, state, last in self._stage_sums(tp, stages):
            kv = sum(cells[win] * bpt for win, bpt in per_window.items()) + batch * state
            parts = Parts(w, int(kv), self._activations(context, batch, tp, last), self.overhead())
            out.extend([parts] * tp)
        return out

    def worst_gpu(self, context: int, batch: int, gpus: int) -> int:
        """Bytes on the fullest GPU."""
        return max(p.total for p in self.per_gpu(context, batch, gpus))

    def kv_bytes_per_token(self) -> int:
        """KV bytes one more token of context adds (all layers, one sequence, no sharding)."""
        return sum(lk.bytes_per_token for lk in self.layer_kv if lk.window == 0 and not lk.state_bytes_per_seq)

    def kv_bytes_per_token_on_rank(self, tp: int, gpus: int) -> int:
        """Per-token KV bytes on the fullest GPU, windowed layers counted as full: how vLLM sizes its
        pool (vllm/v1/core/kv_cache_utils.py: pool bytes // page bytes of every layer)."""
        stages = split_shape(self.engine, gpus)[1]
        return int(max(sum(per_window.values()) for _, per_window, _, _ in self._stage_sums(tp, stages)))


def total_parts(parts: list[Parts]) -> Parts:
    """Sum of the per-GPU parts."""
    return Parts(sum(p.weights for p in parts), sum(p.kv_cache for p in parts),
                 sum(p.activations for p in parts), sum(p.overhead for p in parts))


def block_floor(tokens: int, block: int) -> int:
    """Round down to whole blocks."""
    return tokens // block * block if block > 1 else tokens


__all__ = ["Parts", "Plan", "Settings", "block_floor", "pad", "split_shape", "total_parts"]
