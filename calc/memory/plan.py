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

from typing import TYPE_CHECKING, NamedTuple

from calc.architecture import Architecture
from calc.catalog import Format
from calc.formats import WeightBytes
from calc.memory import activations
from calc.memory.kv_cache import LayerKv

if TYPE_CHECKING:  # the engines import this module; the plan only calls their methods
    from calc.engines import Engine, Settings

MAX_TP = 8  # GPUs in one node: tensor parallelism beyond a node becomes pipeline stages


class Parts(NamedTuple):
    """Bytes one GPU holds (a named tuple: made many times per estimate, and cheaply)."""

    weights: int
    kv_cache: int
    activations: int
    overhead: int

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.activations + self.overhead


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


class StageRow(NamedTuple):
    """What one GPU of a pipeline stage holds apart from the context (one tensor-parallel rank)."""

    weights: int  # bytes of its layers' weights (and the embeddings on the first, the head on the last)
    per_window: tuple[float, ...]  # KV bytes per cached token, per attention window (Plan.windows order)
    state: float  # bytes of fixed recurrent state per sequence (linear-attention and Mamba layers)
    last: bool  # the last stage, which also computes the logits


class Folded(NamedTuple):
    """A split's stage rows summed over every GPU: what the memory-against-context curve adds up."""

    weights: int  # bytes
    per_window: tuple[float, ...]  # KV bytes per cached token, per window
    state: float  # state bytes per sequence


def covers(a: StageRow, b: StageRow) -> bool:
    """Whether stage `a` holds at least what `b` does at any context: weights, state, every window's
    bytes per token, and the last stage's logits if `b` computes them."""
    return (
        a.weights >= b.weights
        and a.state >= b.state
        and (a.last or not b.last)
        and all(x >= y for x, y in zip(a.per_window, b.per_window, strict=True))
    )


def _undominated(rows: list[StageRow]) -> list[StageRow]:
    """The stage rows no other row covers; of equal rows the first is kept.  The rows are compared
    once per distinct value (64 pipeline stages of a 62-layer model are a handful of distinct rows)."""
    distinct = list(dict.fromkeys(rows))  # first occurrences, in order
    return [row for row in distinct if not any(covers(other, row) for other in distinct if other != row)]


def stage_kv(cells: list[int], per_window: tuple, state: float, batch: int) -> int:
    """KV bytes of one stage: cells x bytes per token for each window, plus `batch` fixed states."""
    kv = state * batch
    for c, b in zip(cells, per_window, strict=True):
        kv += c * b
    return int(kv)


class Plan:
    """Per-layer bytes of one (model, format, KV type, engine), ready to evaluate per GPU."""

    def __init__(
        self,
        arch: Architecture,
        weights: WeightBytes,
        layer_kv: tuple[LayerKv, ...],
        engine: Engine,
        fmt: Format,
        settings: Settings,
    ):
        self.arch = arch
        self.weights = weights
        self.layer_kv = layer_kv
        self.engine = engine
        self.settings = settings
        self.format_family = fmt.family  # formats.toml family ("bnb", "gptq", ...): an engine's kernels may depend on it
        self.windows = sorted({lk.window for lk in layer_kv if not lk.state_bytes_per_seq})
        on_host = engine.embeddings_on_host or fmt.embed_on_host
        self.embed_gpu = 0 if on_host else weights.embed
        # A vision tower the engine loads sits with the embeddings on the first stage, sharded like them,
        # at 16 bits (vLLM and transformers load it unquantized in the model's 16-bit dtype).
        # llama.cpp loads a tower only from an mmproj file the user gives (--mmproj), as stored, onto the
        # main GPU unless --no-mmproj-offload (tools/mtmd/clip.cpp).
        self.vision_bytes = 2 * arch.vision_params if engine.loads_vision_encoder else 0
        if engine.loads_mmproj:
            self.vision_bytes = arch.mmproj_bytes
        self.embed_gpu += self.vision_bytes
        # Tied embeddings: llama.cpp duplicates the table onto the GPU as the output layer
        # (TENSOR_DUPLICATED in llama-model.cpp); elsewhere the head shares the embedding.
        self.head_gpu = weights.head or (weights.embed if on_host else 0)
        self._stages: dict = {}
        self._worst_setup: dict = {}  # gpus -> (tp, candidate stages)
        self._cells = engine.cells_rule(settings)
        self._overhead: dict[int, int] = {}  # tensor-parallel ranks -> runtime bytes per GPU
        self.mlp_width = activations.mlp_width(arch)
        # For the speed rooflines: attention layers per window (0 = full), and byte sums.
        self.attention_windows: dict = {}
        for lk in layer_kv:
            if not lk.state_bytes_per_seq:
                self.attention_windows[lk.window] = self.attention_windows.get(lk.window, 0) + 1
        self.layer_bytes = sum(weights.per_layer)
        self._kv_per_token = sum(lk.bytes_per_token for lk in layer_kv if lk.window == 0 and not lk.state_bytes_per_seq)
        self.expert_bytes = sum(weights.expert_per_layer)
        self.has_state = any(lk.state_bytes_per_seq for lk in layer_kv)  # linear-attention or Mamba layers

    def memo(self, key, make, *args):
        """A value derived from this plan alone, computed once: self._stages[key] = make(*args)."""
        value = self._stages.get(key)
        if value is None:
            value = self._stages[key] = make(*args)
        return value

    # -- per-stage sums, cached per (tp, stages) --------------------------------------------------

    def _shard(self, lk: LayerKv, tp: int) -> float:
        if lk.state_bytes_per_seq:
            return 1 / tp
        if not lk.shardable:
            return 1.0  # MLA latent: every rank keeps all of it
        kv = self.arch.kv_heads
        return max(1, kv // tp) / kv

    def _stage_sums(self, tp: int, stages: int) -> list[StageRow]:
        """One StageRow per pipeline stage of a (tensor-parallel ranks, stages) split, cached."""
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
                per_window = dict.fromkeys(self.windows, 0.0)
                state = 0.0
                for lk in self.layer_kv[lo:hi]:
                    share = self._shard(lk, tp)
                    if lk.state_bytes_per_seq:
                        state += lk.state_bytes_per_seq * share
                    else:
                        per_window[lk.window] += lk.bytes_per_token * share
                out.append(StageRow(int(w), tuple(per_window[win] for win in self.windows), state, s == stages - 1))
            self._stages[key] = out
        return self._stages[key]

    # -- cells ------------------------------------------------------------------------------------

    def cells(self, context: int, batch: int, window: int) -> int:
        """Cached tokens (all sequences) of a layer with this window (0 = full attention), by the engine's rule."""
        return self._cells(context, batch, window)

    def _activations(self, context: int, batch: int, tp: int, last: bool) -> int:
        return self.engine.activations(self, context, batch, tp, last)

    def _stage_activations(self, context: int, batch: int, tp: int, last: bool, per_window: tuple, acts: dict) -> int:
        """Activations of one stage at its peak.  An engine that prefills a prompt shorter than the
        context (Engine.after_prefill: transformers' generate) peaks either in the prefill, with the
        cache at the prompt's length, or in the last decode step, with the cache full:

            peak - KV(context) = max(prefill - (KV(context) - KV(prompt)), decode + copies * KV(context))

        where KV(n) is this stage's cache at n tokens per sequence and `copies` the whole extra copies
        of the cache a decode step keeps alive.  Other engines' activations are
        their peak as they are (they reserve the whole cache up front)."""
        key = (tp, last)
        act = acts.get(key)
        if act is None:
            act = acts[key] = self._activations(context, batch, tp, last)
        phases = self.engine.after_prefill(self, context, batch, tp, last)
        if phases is None:
            return act
        prompt, decode, copies = phases
        full = stage_kv([self._cells(context, batch, w) for w in self.windows], per_window, 0.0, batch)
        grown = full - stage_kv([self._cells(prompt, batch, w) for w in self.windows], per_window, 0.0, batch)
        return max(act - grown, decode + copies * full)

    def overhead(self, tp: int = 1) -> int:
        """Bytes per GPU outside weights, KV and activations with `tp` tensor-parallel ranks: the
        runtime, CUDA context and graphs (engine.runtime_bytes), once per rank count."""
        value = self._overhead.get(tp)
        if value is None:
            value = self._overhead[tp] = self.engine.runtime_bytes(tp, self.settings)
        return value

    # -- evaluation -------------------------------------------------------------------------------

    def _stages_bytes(self, context: int, batch: int, gpus: int) -> tuple[int, list[tuple[int, int, int]]]:
        """(tensor-parallel ranks, [(weights, kv, activations) of each pipeline stage])."""
        tp, stages = split_shape(self.engine, gpus)
        cells = [self._cells(context, batch, win) for win in self.windows]
        acts: dict = {}
        rows = []
        for w, per_window, state, last in self._stage_sums(tp, stages):
            kv = stage_kv(cells, per_window, state, batch)
            rows.append((w, kv, self._stage_activations(context, batch, tp, last, per_window, acts)))
        return tp, rows

    def per_gpu(self, context: int, batch: int, gpus: int) -> list[Parts]:
        """Bytes on each GPU, one entry per GPU (tensor-parallel ranks repeat their stage's)."""
        tp, rows = self._stages_bytes(context, batch, gpus)
        overhead = self.overhead(tp)
        out = []
        for w, kv, act in rows:
            out.extend([Parts(w, kv, act, overhead)] * tp)
        return out

    def curve(self, contexts: list[int], batch: int, gpus: int) -> list[Parts]:
        """Bytes summed over all GPUs at each context: the stage rows folded once (Folded), then per
        point stage_kv of the fold, plus the activations of the last and of the other stages."""
        tp, stages = split_shape(self.engine, gpus)
        fold = self.memo(("folded", tp, stages), self._folded, tp, stages)
        overhead = tp * stages * self.overhead(tp)
        out = []
        for c in contexts:
            kv = stage_kv([self._cells(c, batch, win) for win in self.windows], fold.per_window, fold.state, batch)
            share = tuple(b / (tp * stages) for b in fold.per_window)  # each GPU's part of the cache, evenly
            act = self._stage_activations(c, batch, tp, True, share, {})
            if stages > 1:
                act += (stages - 1) * self._stage_activations(c, batch, tp, False, share, {})
            out.append(Parts(fold.weights, kv, tp * act, overhead))
        return out

    def _folded(self, tp: int, stages: int) -> Folded:
        """The split's stage rows summed over every GPU (tp ranks of each stage)."""
        rows = self._stage_sums(tp, stages)
        return Folded(
            tp * sum(r.weights for r in rows),
            tuple(tp * sum(r.per_window[i] for r in rows) for i in range(len(self.windows))),
            tp * sum(r.state for r in rows),
        )

    def _candidates(self, tp: int, stages: int) -> list[StageRow]:
        """The stages that can be the fullest GPU: a stage is dropped when another holds at least as
        many weight bytes, KV bytes per token of every window and state bytes, and at least its
        activations (the last stage's are never smaller: it also computes the logits)."""
        return self.memo(("candidates", tp, stages), _undominated, self._stage_sums(tp, stages))

    def _setup(self, gpus: int) -> tuple[int, list[StageRow]]:
        """(tensor-parallel ranks, candidate stages) of a GPU count, cached."""
        found = self._worst_setup.get(gpus)
        if found is None:
            tp, stages = split_shape(self.engine, gpus)
            found = self._worst_setup[gpus] = (tp, self._candidates(tp, stages))
        return found

    def _worst(self, context: int, batch: int, gpus: int, cells: list[int], acts: dict) -> int:
        """Bytes on the fullest of `gpus` GPUs, given the cells of each window and a cache of
        activations by (ranks, last stage) that callers share across GPU counts."""
        tp, candidates = self._setup(gpus)
        worst = 0
        for w, per_window, state, last in candidates:
            act = self._stage_activations(context, batch, tp, last, per_window, acts)
            total = w + stage_kv(cells, per_window, state, batch) + act
            if total > worst:
                worst = total
        return worst + self.overhead(tp)

    def worst_gpus(self, context: int, batch: int, counts) -> dict[int, int]:
        """worst_gpu for several GPU counts at once: the cells depend on none of them and the
        activations only on the tensor-parallel ranks, so each is computed once."""
        cells = [self._cells(context, batch, win) for win in self.windows]
        acts: dict = {}
        return {n: self._worst(context, batch, n, cells, acts) for n in counts}

    def worst_gpu(self, context: int, batch: int, gpus: int) -> int:
        """Bytes on the fullest GPU: max over the candidate stages of weights + KV + activations."""
        return self._worst(context, batch, gpus, [self._cells(context, batch, win) for win in self.windows], {})

    def floor_bytes(self, gpus: int) -> int:
        """Bytes on the fullest GPU with one token of one sequence: no setup of this plan needs less."""
        return self.memo(("floor", gpus), self.worst_gpu, 1, 1, gpus)

    def kv_bytes_per_token(self) -> int:
        """KV bytes one more token of context adds (all layers, one sequence, no sharding)."""
        return self._kv_per_token

    def attention_layers_on_rank(self, tp: int) -> tuple:
        """(window, KV bytes per token on one of `tp` ranks) of each attention layer (0 = full), in
        layer order; recurrent-state layers left out."""
        return tuple((lk.window, lk.bytes_per_token * self._shard(lk, tp)) for lk in self.layer_kv if not lk.state_bytes_per_seq)

    def attention_layout(self, tp: int) -> tuple[tuple[tuple[int, int], ...], frozenset]:
        """((window, attention layers with it) in layer order of first use, the distinct KV bytes per
        token of one attention layer on one of `tp` ranks), cached: vLLM's pool asks at every estimate."""
        return self.memo(("attention_layout", tp), self._attention_layout, tp)

    def _attention_layout(self, tp: int) -> tuple[tuple[tuple[int, int], ...], frozenset]:
        layers = self.attention_layers_on_rank(tp)
        counts: dict = {}
        for window, _ in layers:
            counts[window] = counts.get(window, 0) + 1
        return tuple(counts.items()), frozenset(b for _, b in layers)

    def kv_bytes_per_token_on_rank(self, tp: int, gpus: int) -> int:
        """Per-token KV bytes on the fullest GPU, windowed layers counted as full: how vLLM sizes its
        pool (vllm/v1/core/kv_cache_utils.py: pool bytes // page bytes of every layer)."""
        stages = split_shape(self.engine, gpus)[1]
        return int(max(sum(per_window) for _, per_window, _, _ in self._stage_sums(tp, stages)))


def total_parts(parts: list[Parts]) -> Parts:
    """Sum of the per-GPU parts."""
    return Parts(
        sum(p.weights for p in parts),
        sum(p.kv_cache for p in parts),
        sum(p.activations for p in parts),
        sum(p.overhead for p in parts),
    )


__all__ = ["Parts", "Plan", "split_shape", "total_parts"]
